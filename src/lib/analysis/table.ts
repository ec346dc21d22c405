/**
 * Tables: analyses return their tables as plain rows (arrays of flat records) and offer
 * them as danfojs DataFrames for display (`frame().print()` in a terminal, a table in a
 * notebook). danfojs-node takes seconds to load, so it is loaded on the first `frame()`
 * call, never when aelab is imported.
 */
// Type-only: erased from the output, so importing the analysis module never loads danfojs.
import type * as Danfo from 'danfojs-node';
import { ArgumentError } from '../errors';
import { loadDanfo } from '../danfo';

/** A danfojs DataFrame (danfojs-node's class). */
export type DataFrame = InstanceType<typeof Danfo.DataFrame>;

/** A flat record: one table row, every value a number or a string. */
export type Row = Record<string, number | string>;

/** A table result: its rows (plain data, JSON-serialisable) and the same rows as a DataFrame. */
export interface Table<R extends object = Row> {
  /** One record per table row, in display order. */
  rows: R[];
  /** The rows as a danfojs DataFrame (loads danfojs on first use). */
  frame(): DataFrame;
}

/**
 * The rows as a danfojs DataFrame, one column per key of the first row, in that order.
 * Loads danfojs-node on the first call (seconds); later calls are immediate.
 * @param rows flat records (numbers and strings); at least one
 */
export function toDataFrame(rows: readonly object[]): DataFrame {
  if (!Array.isArray(rows) || rows.length === 0) throw new ArgumentError('rows', rows, 'a non-empty array of records');
  const columns = Object.keys(rows[0]);
  const dfd = loadDanfo();
  return new dfd.DataFrame(rows.map((r) => columns.map((c) => (r as Record<string, unknown>)[c] ?? null)) as unknown as (number | string)[][], { columns });
}

/**
 * Attaches a non-enumerable `frame()` to a result holding `rows`, so that the result stays
 * plain data (JSON.stringify shows only its fields) and still offers the DataFrame.
 */
export function withFrame<T extends { rows: object[] }>(result: T): T & { frame(): DataFrame } {
  Object.defineProperty(result, 'frame', { value: () => toDataFrame(result.rows), enumerable: false, configurable: true });
  return result as T & { frame(): DataFrame };
}
