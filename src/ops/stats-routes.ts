import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { StatsSeries as Series, SeriesWindow } from '../store/stats-series';
import { requireRole } from './auth';
import { StatsSeries, StatsSeriesQuery, errorResponses } from './schemas';

export interface SeriesDeps {
  /** Per-minute series from the rollup (src/store/stats-series.ts). */
  series: (window: SeriesWindow, source: string | undefined) => Promise<Series>;
}

/** GET /api/stats/series: the dashboard's charts, one bounded read of the per-minute rollup. */
export function addStatsSeriesRoute(app: OpenAPIHono, deps: SeriesDeps): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/stats/series',
      middleware: requireRole('viewer'),
      summary: 'Per-minute received, completed, failed and rejected counts, latency percentiles and backlog',
      description:
        'Read from the per-minute rollup, so the cost depends on the window, not on the history kept. Counts reach it within about 10 seconds.',
      security: [{ opsToken: [] }],
      request: { query: StatsSeriesQuery },
      responses: {
        200: {
          description: 'One entry per minute in each array',
          content: { 'application/json': { schema: StatsSeries } },
        },
        ...errorResponses,
      },
    }),
    async (c) => {
      const { window, source } = c.req.valid('query');
      return c.json(await deps.series(window, source), 200);
    },
  );
}
