// Plain SVG charts: no chart library, labelled for screen readers.
export interface Bar {
  label: string;
  value: number;
}

const TOP = 16;
const BOTTOM = 24;
const LEFT = 8;
const LABEL_WIDTH = 120; // room for category names left of horizontal bars
const ROW = 22;

function shorten(label: string, max: number): string {
  return label.length > max ? `${label.slice(0, max - 1)}…` : label;
}

// Horizontal bars, one category per row with its name at the left: long names stay readable.
function HorizontalBars(props: { title: string; bars: Bar[]; color: string }) {
  const { bars } = props;
  const width = 320;
  const max = Math.max(1, ...bars.map((bar) => bar.value));
  const room = width - LABEL_WIDTH - 36; // leave space for the value after the bar
  const height = bars.length * ROW + 8;
  return (
    <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={props.title}>
      <title>{props.title}</title>
      <line x1={LABEL_WIDTH} x2={LABEL_WIDTH} y1={0} y2={height} stroke="#cbd5e1" />
      {bars.map((bar, index) => {
        const y = 4 + index * ROW;
        const w = (bar.value / max) * room;
        return (
          <g key={bar.label}>
            <text
              x={LABEL_WIDTH - 6}
              y={y + ROW / 2 + 1}
              textAnchor="end"
              dominantBaseline="middle"
              fontSize="11"
            >
              {shorten(bar.label, 20)}
            </text>
            <rect x={LABEL_WIDTH} y={y + 3} width={w} height={ROW - 6} fill={props.color}>
              <title>{`${bar.label}: ${bar.value}`}</title>
            </rect>
            <text x={LABEL_WIDTH + w + 4} y={y + ROW / 2 + 1} dominantBaseline="middle" fontSize="10">
              {bar.value}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

// Vertical bars for ordered series (hours); only every `labelEvery`-th label is drawn, horizontally.
function VerticalBars(props: { title: string; bars: Bar[]; color: string; labelEvery: number }) {
  const { bars } = props;
  const height = 150;
  const width = 320;
  const max = Math.max(1, ...bars.map((bar) => bar.value));
  const step = (width - LEFT * 2) / Math.max(bars.length, 1);
  const barWidth = Math.min(step * 0.7, 36);
  return (
    <svg viewBox={`0 0 ${width} ${height + TOP + BOTTOM}`} role="img" aria-label={props.title}>
      <title>{props.title}</title>
      <line x1={LEFT} x2={width - LEFT} y1={TOP + height} y2={TOP + height} stroke="#cbd5e1" />
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
              fill={props.color}
            >
              <title>{`${bar.label}: ${bar.value}`}</title>
            </rect>
            <text x={center} y={TOP + height - h - 3} textAnchor="middle" fontSize="9">
              {bar.value > 0 ? bar.value : ""}
            </text>
            {index % props.labelEvery === 0 ? (
              <text x={center} y={TOP + height + 14} textAnchor="middle" fontSize="10">
                {shorten(bar.label, 6)}
              </text>
            ) : null}
          </g>
        );
      })}
    </svg>
  );
}

export function BarChart(props: {
  title: string;
  bars: Bar[];
  color?: string;
  horizontal?: boolean;
  labelEvery?: number;
}) {
  const color = props.color ?? "#2563eb";
  return (
    <figure className="chart">
      <figcaption>{props.title}</figcaption>
      {props.bars.length === 0 ? (
        <p className="muted">No data for this period.</p>
      ) : props.horizontal ? (
        <HorizontalBars title={props.title} bars={props.bars} color={color} />
      ) : (
        <VerticalBars
          title={props.title}
          bars={props.bars}
          color={color}
          labelEvery={props.labelEvery ?? 1}
        />
      )}
    </figure>
  );
}

export interface Point {
  avg: number;
  min: number;
  max: number;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

/** An average line over a min–max band, one point per bucket; a bucket without data (null)
 * breaks the line. `labels` go under the axis, `names` (the full bucket names) in the tooltips. The period's figures are given in the aria-label for screen readers. */
export function LineChart(props: {
  title: string;
  unit: string;
  labels: string[];
  names: string[];
  points: (Point | null)[];
  labelEvery: number;
  color?: string;
}) {
  const color = props.color ?? "#2563eb";
  const height = 90;
  const width = 320;
  const known = props.points.filter((point): point is Point => point !== null);
  const latest = known[known.length - 1];
  const low = Math.min(0, ...known.map((point) => point.min));
  const high = Math.max(...known.map((point) => point.max));
  const top = high > low ? high : low + 1;
  const step = (width - LEFT * 2) / Math.max(props.points.length, 1);
  const x = (index: number) => LEFT + index * step + step / 2;
  const y = (value: number) => TOP + height - ((value - low) / (top - low)) * height;
  // Runs of consecutive buckets with data: each one is a band and a line of its own.
  const runs: number[][] = [];
  props.points.forEach((point, index) => {
    if (point === null) return;
    const run = runs[runs.length - 1];
    if (run && run[run.length - 1] === index - 1) run.push(index);
    else runs.push([index]);
  });
  const at = (index: number) => props.points[index] as Point;
  const summary = latest
    ? `latest average ${round(latest.avg)} ${props.unit}, range ${round(Math.min(...known.map((p) => p.min)))} to ${round(high)} ${props.unit}`
    : "no data";
  return (
    <figure className="chart">
      <figcaption>
        {props.title} <span className="muted">({summary})</span>
      </figcaption>
      <svg
        viewBox={`0 0 ${width} ${height + TOP + BOTTOM}`}
        role="img"
        aria-label={`${props.title}: ${summary}`}
      >
        <line x1={LEFT} x2={width - LEFT} y1={TOP + height} y2={TOP + height} stroke="#cbd5e1" />
        <text x={LEFT} y={TOP - 4} fontSize="9" fill="#64748b">
          {`${round(top)} ${props.unit}`}
        </text>
        <text x={width - LEFT} y={TOP + height - 3} textAnchor="end" fontSize="9" fill="#64748b">
          {`${round(low)} ${props.unit}`}
        </text>
        {runs.map((run) => (
          <g key={run[0]}>
            <polygon
              points={[
                ...run.map((index) => `${x(index)},${y(at(index).max)}`),
                ...[...run].reverse().map((index) => `${x(index)},${y(at(index).min)}`),
              ].join(" ")}
              fill={color}
              fillOpacity={0.15}
              stroke={color}
              strokeOpacity={0.3}
            />
            <polyline
              points={run.map((index) => `${x(index)},${y(at(index).avg)}`).join(" ")}
              fill="none"
              stroke={color}
              strokeWidth={2}
            />
          </g>
        ))}
        {props.points.map((point, index) =>
          point === null ? null : (
            // biome-ignore lint/suspicious/noArrayIndexKey: buckets are fixed, ordered positions
            <circle key={index} cx={x(index)} cy={y(point.avg)} r={2.5} fill={color}>
              <title>{`${props.names[index]}: average ${round(point.avg)} ${props.unit} (min ${round(point.min)}, max ${round(point.max)})`}</title>
            </circle>
          ),
        )}
        {props.labels.map((text, index) =>
          index % props.labelEvery === 0 ? (
            // biome-ignore lint/suspicious/noArrayIndexKey: buckets are fixed, ordered positions
            <text key={index} x={x(index)} y={TOP + height + 14} textAnchor="middle" fontSize="10">
              {shorten(text, 6)}
            </text>
          ) : null,
        )}
      </svg>
    </figure>
  );
}
