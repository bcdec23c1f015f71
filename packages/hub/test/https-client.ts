/**
 * A small HTTPS client for tests that talk to a listening hub over a real socket, trusting the
 * hub's development CA explicitly (no global TLS settings).
 */
import { type Agent, request } from 'node:https';

/** A response read to the end. */
export interface HttpsResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json(): any;
}

/**
 * Sends one HTTPS request.
 *
 * @param url - full URL
 * @param options - method, headers, body, CA, agent and SNI name
 */
export function httpsCall(
  url: string,
  options: {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    ca: string;
    agent?: Agent;
    servername?: string;
  },
): Promise<HttpsResult> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...options.headers };
    if (options.body !== undefined) headers['content-length'] = Buffer.byteLength(options.body);
    const req = request(
      url,
      {
        method: options.method ?? 'GET',
        headers,
        ca: options.ca,
        servername: options.servername ?? 'localhost',
        ...(options.agent === undefined ? {} : { agent: options.agent }),
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            text,
            json: () => JSON.parse(text),
          });
        });
        response.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
