/**
 * The IoT Hub query language for device twins, module twins and device jobs: a parser
 * (`parseQuery`), a compiler that turns a query into closures once (`compileQuery`) and runs it
 * over service-view twins, the continuation tokens and page-size rule a hub uses to page
 * results, and the `PagedAsyncIterableIterator` the clients return.
 *
 * @see docs/internals/twin-semantics.md#query
 * @example
 * ```ts
 * import { compileQuery } from '@twinkit/twin-model/query';
 *
 * const query = compileQuery("SELECT * FROM devices WHERE tags.location.region = 'US'");
 * const page = query.execute(twins).slice(0, 100);
 * ```
 *
 * @module @twinkit/twin-model/query
 */
export type {
  AggregateExpression,
  AggregateFunction,
  ArithmeticOperator,
  ArrayExpression,
  BinaryExpression,
  CallExpression,
  ComparisonOperator,
  ConstantExpression,
  Expression,
  InExpression,
  LiteralExpression,
  LogicalOperator,
  ObjectExpression,
  ObjectMember,
  PathExpression,
  PathSegment,
  QueryAst,
  QueryCollection,
  SelectClause,
  SelectItem,
  UnaryExpression,
} from './ast.js';
export { parseQuery } from './parse-query.js';
export { selectsWholeTwins } from './select-shape.js';
export {
  compileQuery,
  evaluateQuery,
  type CompiledQuery,
  type QueryItemType,
  type QueryOptions,
} from './compile-query.js';
export {
  QUERY_FUNCTIONS,
  type QueryFunction,
  type QueryFunctionTier,
  type QueryValue,
} from './functions.js';
export { INVALID_QUERY_MESSAGE, MAX_QUERY_LENGTH } from './query-error.js';
export {
  computeQueryHash,
  createContinuationToken,
  readContinuationToken,
  type ContinuationState,
} from './continuation-token.js';
export {
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  clampPageSize,
  createPagedIterator,
  type ContinuablePage,
  type PageFetcher,
  type PageSettings,
  type PagedAsyncIterableIterator,
} from '../paging.js';
export { QuerySyntaxError, isQuerySyntaxError } from '../errors/index.js';
