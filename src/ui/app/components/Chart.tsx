import { useEffect, useRef, useState } from 'preact/hooks';
import type uPlot from 'uplot';

export interface ChartSeries {
  label: string;
  /** A CSS colour for the line (one of the status colours, say). */
  stroke: string;
  /** Values with gaps (null): draw each point and join across the gaps. */
  sparse?: boolean;
}

export interface ChartProps {
  /** The figure's caption: what is drawn, over which window. */
  title: string;
  series: ChartSeries[];
  /** uPlot's aligned data: x values (Unix seconds) first, then one array per series. */
  data: uPlot.AlignedData;
  height?: number;
  /** A text summary for screen readers and for when the chart cannot be drawn. */
  summary: string;
}

/**
 * The chart slot: a time-series chart drawn with uPlot (docs/adr/0006-ui-architecture.md), loaded
 * on first use as its own chunk so pages without charts do not pay for it. Follows its container's
 * width. uPlot draws on a canvas and sizes it through the CSSOM, which the strict CSP allows.
 */
export function Chart({ title, series, data, height = 220, summary }: ChartProps) {
  const target = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const [failed, setFailed] = useState(false);
  const latest = useRef(data);
  latest.current = data;

  useEffect(() => {
    let cancelled = false;
    let observer: ResizeObserver | undefined;
    import('uplot')
      .then(({ default: UPlot }) => {
        if (cancelled || !target.current) return;
        const el = target.current;
        plot.current = new UPlot(
          {
            width: el.clientWidth,
            height,
            series: [
              {},
              ...series.map((s) => ({
                label: s.label,
                stroke: s.stroke,
                width: 2,
                ...(s.sparse ? { spanGaps: true, points: { show: true, size: 6, fill: s.stroke } } : {}),
              })),
            ],
            axes: [{}, { size: 50 }],
          },
          latest.current,
          el,
        );
        observer = new ResizeObserver(() => plot.current?.setSize({ width: el.clientWidth, height }));
        observer.observe(el);
      })
      .catch(() => setFailed(true));
    return () => {
      cancelled = true;
      observer?.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
    // The series and height define the chart; new data is handed to the existing one below.
  }, [series, height]);

  useEffect(() => plot.current?.setData(data), [data]);

  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={target} class="chart-canvas" role="img" aria-label={summary} />
      {failed ? <p class="muted">{summary}</p> : null}
    </figure>
  );
}
