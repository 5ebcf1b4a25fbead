// Plain SVG charts: no chart library, labelled for screen readers.
export interface Bar {
  label: string;
  value: number;
}

export function BarChart(props: { title: string; bars: Bar[]; height?: number; color?: string }) {
  const { bars } = props;
  const height = props.height ?? 160;
  const width = Math.max(bars.length * 28, 280);
  const max = Math.max(1, ...bars.map((bar) => bar.value));
  const step = width / Math.max(bars.length, 1);
  return (
    <figure className="chart">
      <figcaption>{props.title}</figcaption>
      {bars.length === 0 ? (
        <p className="muted">No data for this period.</p>
      ) : (
        <svg viewBox={`0 0 ${width} ${height + 40}`} role="img" aria-label={props.title}>
          <title>{props.title}</title>
          {bars.map((bar, index) => {
            const h = (bar.value / max) * height;
            const x = index * step + step * 0.15;
            return (
              <g key={bar.label}>
                <rect x={x} y={height - h} width={step * 0.7} height={h} fill={props.color ?? "#2563eb"}>
                  <title>{`${bar.label}: ${bar.value}`}</title>
                </rect>
                <text x={x + step * 0.35} y={height - h - 3} textAnchor="middle" fontSize="9">
                  {bar.value > 0 ? bar.value : ""}
                </text>
                <text
                  x={x + step * 0.35}
                  y={height + 12}
                  textAnchor="end"
                  fontSize="9"
                  transform={`rotate(-40 ${x + step * 0.35} ${height + 12})`}
                >
                  {bar.label}
                </text>
              </g>
            );
          })}
        </svg>
      )}
    </figure>
  );
}
