/**
 * pino's JSON lines as a person reads them on a terminal: `12:04:31 INFO  [http] message  key=value`.
 * It formats lines that are already finished and scrubbed (src/lib/logger.ts), so what a JSON line
 * would not show, this one does not either. Stack traces only at debug and trace: at info a person
 * wants what went wrong, not where.
 */
export interface PrettyOptions {
  colour: boolean;
  /** Print the stacks of logged errors (LOG_LEVEL debug or trace). */
  stacks: boolean;
}

const LEVELS: Record<number, { name: string; colour: number }> = {
  10: { name: 'TRACE', colour: 90 },
  20: { name: 'DEBUG', colour: 34 },
  30: { name: 'INFO', colour: 32 },
  40: { name: 'WARN', colour: 33 },
  50: { name: 'ERROR', colour: 31 },
  60: { name: 'FATAL', colour: 35 },
};

/** Fields every line carries, shown in the line's head or not at all. */
const HEAD_FIELDS = new Set(['time', 'level', 'msg', 'pid', 'hostname', 'service', 'component', 'err']);

interface LoggedError {
  type?: string;
  message?: string;
  code?: string;
  stack?: string;
}

export function prettyLine(line: string, { colour, stacks }: PrettyOptions): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const paint = (code: number, text: string) => (colour ? `\u001b[${code}m${text}\u001b[39m` : text);
  const dim = (text: string) => (colour ? `\u001b[2m${text}\u001b[22m` : text);
  const level = LEVELS[Number(record.level)] ?? { name: String(record.level ?? 'LOG').toUpperCase(), colour: 39 };
  const time = typeof record.time === 'number' ? new Date(record.time).toTimeString().slice(0, 8) : '';
  const component = typeof record.component === 'string' ? `${dim(`[${record.component}]`)} ` : '';
  const err = record.err && typeof record.err === 'object' ? (record.err as LoggedError) : undefined;
  let message = typeof record.msg === 'string' ? record.msg : '';
  if (err?.message && !message.includes(err.message)) message = message ? `${message}: ${err.message}` : err.message;
  if (err?.code && !message.includes(err.code)) message += ` (${err.code})`;
  const fields = Object.entries(record)
    .filter(([key, value]) => !HEAD_FIELDS.has(key) && value !== undefined)
    .map(([key, value]) => `${dim(`${key}=`)}${formatValue(value)}`);
  const head = `${dim(time)} ${paint(level.colour, level.name.padEnd(5))} ${component}${message}`;
  const stack = stacks && err?.stack ? `\n${dim(err.stack.split('\n').slice(1).join('\n'))}` : '';
  return `${head}${fields.length > 0 ? `  ${fields.join(' ')}` : ''}${stack}\n`;
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}
