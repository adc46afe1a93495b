// The ops API's request and response shapes; they drive validation and the OpenAPI document.
// One module per resource; this one gathers them so callers import from one place.

export { filterText, isoTime, timestamp } from './schema-fields';
export {
  BulkReplayBody,
  BulkReplayResult,
  EventDetail,
  EventMatchQuery,
  EventPage,
  EventSummary,
  IdParam,
  ListQuery,
  NOT_SEARCHED_HEADER,
  NotSearched,
} from './event-schemas';
export { ConflictDetail, ConflictPage, ConflictQuery, ConflictSummary } from './conflict-schemas';
export { Stats, StatsSeries, StatsSeriesQuery } from './stats-schemas';
export { ErrorBody, errorResponses } from './error-schemas';
