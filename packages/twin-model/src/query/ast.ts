/**
 * The syntax tree `parseQuery` builds for an IoT Hub twin, module or job query.
 *
 * Every node carries `position`, the zero-based offset of its first character in the query text,
 * so later stages (compilation, option checks) can point at the problem the way the parser does.
 *
 * @see docs/internals/twin-semantics.md#query
 */

/** The collection a query reads (`FROM …`). */
export type QueryCollection = 'devices' | 'devices.modules' | 'devices.jobs';

/** Comparison operators; `<>` is stored as `!=`. */
export type ComparisonOperator = '=' | '!=' | '<' | '>' | '<=' | '>=';

/** Arithmetic operators. */
export type ArithmeticOperator = '+' | '-' | '*' | '/' | '%';

/** Boolean connectives. */
export type LogicalOperator = 'AND' | 'OR';

/** The aggregate functions a SELECT list may use. */
export type AggregateFunction = 'COUNT' | 'AVG' | 'SUM' | 'MIN' | 'MAX';

/** One segment of a property path. */
export interface PathSegment {
  /** The key as written (without the `[[ ]]` of an escaped segment). */
  readonly name: string;
  /** True when written as `[[name]]`: never a keyword, never a system name. */
  readonly escaped: boolean;
  readonly position: number;
}

/** A property path such as `properties.reported.$metadata.fw.$lastUpdated`. */
export interface PathExpression {
  readonly kind: 'path';
  readonly segments: readonly PathSegment[];
  readonly position: number;
}

/** A constant: string, number, boolean, `null` or `undefined`. */
export interface LiteralExpression {
  readonly kind: 'literal';
  readonly value: string | number | boolean | null | undefined;
  readonly position: number;
}

/** A constant array `[c1, c2, …]`; its elements are constants. */
export interface ArrayExpression {
  readonly kind: 'array';
  readonly elements: readonly ConstantExpression[];
  readonly position: number;
}

/** One member of a constant object. */
export interface ObjectMember {
  readonly key: string;
  readonly value: ConstantExpression;
}

/** A constant object `{ "key": c, … }`. */
export interface ObjectExpression {
  readonly kind: 'object';
  readonly members: readonly ObjectMember[];
  readonly position: number;
}

/** The constants: literals, arrays and objects of constants. */
export type ConstantExpression = LiteralExpression | ArrayExpression | ObjectExpression;

/** `NOT x` or `-x`. */
export interface UnaryExpression {
  readonly kind: 'unary';
  readonly operator: 'NOT' | '-';
  readonly operand: Expression;
  readonly position: number;
}

/** A binary operation: comparison, arithmetic, AND or OR. */
export interface BinaryExpression {
  readonly kind: 'binary';
  readonly operator: ComparisonOperator | ArithmeticOperator | LogicalOperator;
  readonly left: Expression;
  readonly right: Expression;
  readonly position: number;
}

/** `x IN [...]` or `x NIN [...]`. */
export interface InExpression {
  readonly kind: 'in';
  /** True for `NIN`. */
  readonly negated: boolean;
  readonly operand: Expression;
  readonly list: ArrayExpression;
  readonly position: number;
}

/** A scalar function call such as `IS_DEFINED(tags.env)`; `name` is upper case. */
export interface CallExpression {
  readonly kind: 'call';
  readonly name: string;
  readonly arguments: readonly Expression[];
  readonly position: number;
}

/** Any expression allowed in WHERE. */
export type Expression =
  | PathExpression
  | LiteralExpression
  | ArrayExpression
  | ObjectExpression
  | UnaryExpression
  | BinaryExpression
  | InExpression
  | CallExpression;

/** An aggregate in the SELECT list: `COUNT()` or `AVG|SUM|MIN|MAX(path)`. */
export interface AggregateExpression {
  readonly kind: 'aggregate';
  readonly name: AggregateFunction;
  /** The path aggregated; absent for `COUNT()`. */
  readonly argument?: PathExpression;
  readonly position: number;
}

/** One element of a SELECT list. */
export interface SelectItem {
  readonly expression: PathExpression | AggregateExpression;
  /** The `AS` alias, exactly as written. */
  readonly alias?: string;
  readonly position: number;
}

/** `SELECT *` or `SELECT item, …`. */
export type SelectClause =
  | { readonly kind: 'all'; readonly position: number }
  | { readonly kind: 'list'; readonly items: readonly SelectItem[]; readonly position: number };

/** A whole query. */
export interface QueryAst {
  readonly kind: 'query';
  /** `TOP n`, when given. */
  readonly top?: number;
  readonly select: SelectClause;
  readonly from: QueryCollection;
  readonly where?: Expression;
  /** The GROUP BY keys (one in the documented grammar; several accepted). */
  readonly groupBy?: readonly PathExpression[];
}
