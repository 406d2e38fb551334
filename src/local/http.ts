// Small HTTP helpers shared by the control plane and the data plane listeners.
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Thrown when a request body is larger than the caller allows. */
export class BodyTooLarge extends Error {}

/** Reads a whole request body, refusing more than limit bytes. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit)
    throw new BodyTooLarge(`body of ${declared} bytes exceeds ${limit}`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new BodyTooLarge(`body exceeds ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Sends a complete response with a body (or none for HEAD). */
export function send(
  res: ServerResponse,
  status: number,
  headers: Record<string, string | number>,
  body?: Buffer | string,
  head = false,
): void {
  const bytes = body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body) : body;
  const h: Record<string, string | number> = { ...headers };
  if (bytes !== undefined && h['Content-Length'] === undefined) h['Content-Length'] = bytes.length;
  if (bytes === undefined && h['Content-Length'] === undefined) h['Content-Length'] = 0;
  res.writeHead(status, h);
  res.end(head ? undefined : bytes);
}
