/**
 * Internal to the chart builders (`plot.ts`, `paper_charts.ts`, `plot_protocol.ts`): the figure
 * types, the palette and the figure / layout / trace helpers every chart uses. `plot.ts`
 * re-exports the public names.
 *
 * @example
 * ```ts
 * import { layout, line, PALETTE } from "./_plot.ts";
 * const fig = { data: [line("a", [0, 1], [1, 2], PALETTE[0])], layout: layout("t", "x", "y") };
 * ```
 * @module
 */
/** One plotly trace (plain JSON; only the fields this module sets are typed). */
export interface Trace {
  /** `scatter` or `bar`. */
  type: "scatter" | "bar";
  /** Legend entry. */
  name: string;
  /** x values (numbers or category labels). */
  x: (number | string)[];
  /** y values; null leaves a gap (no bar / no point). */
  y: (number | null)[];
  /** Any other plotly trace attribute (mode, line, marker, text, ...). */
  [attr: string]: unknown;
}

/** A plotly figure as plain JSON (what `Plotly.newPlot(div, data, layout, config)` takes). */
export interface Figure {
  /** Traces. */
  data: Trace[];
  /** Layout (title, axes, legend, ...). */
  layout: Record<string, unknown>;
  /** Plotly config (responsive, no logo). */
  config?: Record<string, unknown>;
}

/** The plotly MIME type Jupyter front ends render (JupyterLab with the `plotly` package). */
export const PLOTLY_MIME = "application/vnd.plotly.v1+json";

/** A Jupyter MIME bundle: MIME type → payload. */
export type MimeBundle = Record<string, unknown>;

/** Colours used by every chart (one per series, in order; paper overlays reuse the colour). */
export const PALETTE = [
  "#1f77b4",
  "#d62728",
  "#2ca02c",
  "#9467bd",
  "#ff7f0e",
  "#8c564b",
  "#e377c2",
  "#17becf",
] as const;

/** Grey for the paper's reference lines that belong to no series. */
const PAPER_GREY = "#555555";

/** The plotly config of every chart. */
export const CONFIG = { responsive: true, displaylogo: false } as const;

/** Text of a plotly title object, or "" (for summaries and HTML captions). */
export function titleText(t: unknown): string {
  if (typeof t === "string") return t;
  if (t && typeof t === "object" && "text" in t) return String((t as { text: unknown }).text);
  return "";
}

/** What a chart adds to {@link layout}'s: axis settings merged into its axes, any other key. */
export type LayoutExtra =
  & { xaxis?: Record<string, unknown>; yaxis?: Record<string, unknown> }
  & Record<string, unknown>;

/** A layout with title, axis titles (with units) and the legend below the plot. */
export function layout(
  title: string,
  xTitle: string,
  yTitle: string,
  extra: LayoutExtra = {},
): Record<string, unknown> {
  const { xaxis = {}, yaxis = {}, ...rest } = extra;
  return {
    title: { text: title },
    xaxis: { title: { text: xTitle }, zeroline: false, ...xaxis },
    yaxis: { title: { text: yTitle }, zeroline: false, ...yaxis },
    legend: { orientation: "h", y: -0.22 },
    margin: { l: 70, r: 30, t: 60, b: 90 },
    height: 460,
    hovermode: "closest",
    ...rest,
  };
}

/** A chart's figure: its traces, {@link layout}'s layout and the config of every chart. */
export function figure(
  data: Trace[],
  title: string,
  xTitle: string,
  yTitle: string,
  extra: LayoutExtra = {},
): Figure {
  return { data, layout: layout(title, xTitle, yTitle, extra), config: { ...CONFIG } };
}

/** A line trace (markers, dash and width as given). */
export function line(
  name: string,
  x: number[],
  y: (number | null)[],
  color: string,
  opts: { dash?: string; width?: number; markers?: boolean; legendgroup?: string } = {},
): Trace {
  return {
    type: "scatter",
    name,
    x,
    y,
    mode: opts.markers ? "lines+markers" : "lines",
    line: { color, dash: opts.dash ?? "solid", width: opts.width ?? 2 },
    marker: { color, size: 6 },
    ...(opts.legendgroup ? { legendgroup: opts.legendgroup } : {}),
  };
}

/** A horizontal reference line across `[x0, x1]` as a trace (so it shows in the legend). */
export function hline(name: string, y: number, x0: number, x1: number, color = PAPER_GREY): Trace {
  return {
    ...line(name, [x0, x1], [y, y], color, { dash: "dash", width: 1.5 }),
    hoverinfo: "name+y",
  };
}
