// Plain SVG charts: no chart library, labelled for screen readers.
export interface Bar {
  label: string;
  value: number;
}

const TOP = 16;
const BOTTOM = 56;
const LEFT = 56; // room for the slanted labels

export function BarChart(props: { title: string; bars: Bar[]; height?: number; color?: string }) {
  const { bars } = props;
  const height = props.height ?? 150;
  const width = Math.max(bars.length * (bars.length > 12 ? 14 : 24), 300);
  const max = Math.max(1, ...bars.map((bar) => bar.value));
  const step = (width - LEFT) / Math.max(bars.length, 1);
  const barWidth = Math.min(step * 0.7, 36);
  return (
    <figure className="chart">
      <figcaption>{props.title}</figcaption>
      {bars.length === 0 ? (
        <p className="muted">No data for this period.</p>
      ) : (
        <svg viewBox={`0 0 ${width} ${height + TOP + BOTTOM}`} role="img" aria-label={props.title}>
          <title>{props.title}</title>
          <line x1={LEFT} x2={width} y1={TOP + height} y2={TOP + height} stroke="#cbd5e1" />
          {bars.map((bar, index) => {
            const h = (bar.value / max) * height;
            const center = LEFT + index * step + step / 2;
            return (
              <g key={bar.label}>
                <rect
                  x={center - barWidth / 2}
                  y={TOP + height - h}
                  width={barWidth}
                  height={h}
                  fill={props.color ?? "#2563eb"}
                >
                  <title>{`${bar.label}: ${bar.value}`}</title>
                </rect>
                <text x={center} y={TOP + height - h - 3} textAnchor="middle" fontSize="10">
                  {bar.value > 0 ? bar.value : ""}
                </text>
                <text
                  x={center}
                  y={TOP + height + 12}
                  textAnchor="end"
                  fontSize="10"
                  transform={`rotate(-45 ${center} ${TOP + height + 12})`}
                >
                  {bar.label.length > 14 ? `${bar.label.slice(0, 13)}…` : bar.label}
                </text>
              </g>
            );
          })}
        </svg>
      )}
    </figure>
  );
}
