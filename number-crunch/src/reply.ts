import { STATUS_CODES } from 'node:http';
import { Answer } from './roots';

/**
 * An answer as sent: extra headers (name, value pairs), whether the connection closes after it, and the route template
 * it answers (the metrics' `http_route`; unset for answers given before or outside routing).
 */
export interface Reply extends Answer {
  readonly headers?: readonly string[];
  readonly close?: boolean;
  readonly route?: string;
}

/**
 * The headers of an answer as a flat name, value list, in the order every way of sending an answer writes them
 * (node:http's `writeHead`, a raw answer on a connection node:http has let go of, the fast path): the raw array skips
 * Node's per-header object bookkeeping.
 */
export function headerList(answer: Reply, close: boolean): string[] {
  const headers = ['Content-Type', 'application/json', 'Content-Length', String(Buffer.byteLength(answer.body))];
  if (answer.headers) headers.push(...answer.headers);
  if (close) headers.push('Connection', 'close');
  return headers;
}

/** The status line and the `headerList` lines of an answer, as node:http writes them, without the blank line. */
export function headLines(answer: Reply, close: boolean): string {
  const headers = headerList(answer, close);
  let head = `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status]}\r\n`;
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return head;
}
