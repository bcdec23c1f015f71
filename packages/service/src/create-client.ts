/**
 * Everything a Registry's constructor does: checks the host, credential and options, and builds
 * the request pipeline (user agent, request id, your per-call policies, retries, your per-retry
 * policies, `Authorization`, logging) around the `fetch` it was given.
 */
import { resolveRetryOptions } from '@twinkit/twin-model/internal';
import { API_VERSION, splitHostPort } from '@twinkit/twin-model/protocol';
import {
  isNamedKeyCredential,
  isTokenCredential,
  type RegistryCredential,
} from './auth/credentials.js';
import { defaultTransport } from '#platform/transport';
import {
  createPipeline,
  type AdditionalPolicy,
  type PipelinePolicy,
  type TransportTarget,
} from './http/pipeline.js';
import { authPolicy } from './http/policies/auth-policy.js';
import { logPolicy } from './http/policies/log-policy.js';
import { requestIdPolicy } from './http/policies/request-id-policy.js';
import { retryPolicy } from './http/policies/retry-policy.js';
import { userAgentPolicy } from './http/policies/user-agent-policy.js';
import type { RestClient } from './http/rest-client.js';
import { fetchTransport } from './http/transport.js';
import type { RegistryOptions } from './options.js';

const DEFAULT_OPERATION_TIMEOUT_IN_MS = 30_000;
const DEFAULT_RETRY = { maxRetries: 3, retryDelayInMs: 800, maxRetryDelayInMs: 60_000 };
const DEFAULT_SAS_LIFETIME_IN_SECONDS = 3600;

/**
 * Checks a numeric option.
 *
 * @param value - the option, if given
 * @param name - its name, for the message
 * @param fallback - the default
 * @param integer - whether it must be an integer
 * @returns the value or the default
 * @throws {@link RangeError} when it is negative, NaN or (for `integer`) fractional
 */
export function nonNegative(
  value: number | undefined,
  name: string,
  fallback: number,
  integer = false,
): number {
  if (value === undefined) return fallback;
  if (
    typeof value !== 'number' ||
    Number.isNaN(value) ||
    value < 0 ||
    (integer && !Number.isInteger(value))
  ) {
    throw new RangeError(`${name} must be ${integer ? 'an integer' : 'a number'} of 0 or more`);
  }
  return value;
}

function validateHostName(hostName: unknown): string {
  if (typeof hostName !== 'string' || hostName.trim() === '') {
    throw new TypeError('hostName must be a non-empty string such as myhub.azure-devices.net');
  }
  if (hostName.includes('://') || hostName.includes('/') || /\s/.test(hostName)) {
    throw new TypeError(
      `hostName must be a bare host name such as myhub.azure-devices.net (optionally with :port), not '${hostName}'`,
    );
  }
  return hostName;
}

function checkPolicies(policies: unknown): readonly AdditionalPolicy[] {
  if (policies === undefined) return [];
  if (!Array.isArray(policies)) throw new TypeError('additionalPolicies must be an array');
  for (const entry of policies as unknown[]) {
    const candidate = entry as Partial<AdditionalPolicy> | null;
    if (
      typeof candidate?.policy?.sendRequest !== 'function' ||
      typeof candidate.policy.name !== 'string' ||
      (candidate.position !== 'perCall' && candidate.position !== 'perRetry')
    ) {
      throw new TypeError(
        "each additionalPolicies entry must be { policy: { name, sendRequest }, position: 'perCall' | 'perRetry' }",
      );
    }
  }
  return policies as readonly AdditionalPolicy[];
}

/**
 * Builds the client a Registry sends every call through.
 *
 * @param hostName - `host` or `host:port`
 * @param credential - a named key or a token credential
 * @param options - the Registry's options
 * @returns the client
 * @throws {@link TypeError} when the host name, credential or an option is malformed, or no `fetch` exists
 * @throws {@link RangeError} when a port, timeout or retry setting is out of range
 */
export function createRestClient(
  hostName: string,
  credential: RegistryCredential,
  options: RegistryOptions,
): RestClient {
  validateHostName(hostName);
  const { host, port } = splitHostPort(hostName);
  if (!isTokenCredential(credential) && !isNamedKeyCredential(credential)) {
    throw new TypeError(
      'credential must be a TokenCredential (with getToken) or a named key { name, key } such as new SasKeyCredential(policyName, key)',
    );
  }
  if (typeof (options as unknown) !== 'object' || (options as unknown) === null)
    throw new TypeError('options must be an object');
  const baseUrl = `https://${hostName}`;
  const target: TransportTarget = {
    origin: baseUrl,
    address: hostName,
    portIsExplicit: port !== undefined,
  };
  if (options.fetch !== undefined && typeof options.fetch !== 'function')
    throw new TypeError('options.fetch must be a function with the fetch(url, init) signature');
  // Node's default is undici's dispatcher API, other runtimes' their fetch (http/platform).
  const transport =
    options.fetch === undefined ? defaultTransport(target) : fetchTransport(options.fetch, target);
  if (transport === undefined) {
    throw new TypeError('No fetch is available in this runtime; pass options.fetch');
  }
  const retry = resolveRetryOptions(options.retryOptions, DEFAULT_RETRY);
  const operationTimeoutInMs = nonNegative(
    options.operationTimeoutInMs,
    'operationTimeoutInMs',
    DEFAULT_OPERATION_TIMEOUT_IN_MS,
  );
  const tokenLifetimeInSeconds = nonNegative(
    options.sasTokenLifetimeInSeconds,
    'sasTokenLifetimeInSeconds',
    DEFAULT_SAS_LIFETIME_IN_SECONDS,
    true,
  );
  if (tokenLifetimeInSeconds < 60)
    throw new RangeError('sasTokenLifetimeInSeconds must be at least 60');
  if (options.userAgentPrefix !== undefined && typeof options.userAgentPrefix !== 'string') {
    throw new TypeError('userAgentPrefix must be a string');
  }
  const apiVersion = options.apiVersion ?? API_VERSION;
  if (typeof apiVersion !== 'string' || apiVersion === '')
    throw new TypeError('apiVersion must be a non-empty string');
  const additional = checkPolicies(options.additionalPolicies);
  const at = (position: AdditionalPolicy['position']): PipelinePolicy[] =>
    additional.filter((entry) => entry.position === position).map((entry) => entry.policy);
  // Order matters: one request id and user agent per operation, then retries, and inside each
  // attempt a current Authorization and a log line.
  const send = createPipeline(
    [
      userAgentPolicy(options.userAgentPrefix),
      requestIdPolicy(),
      ...at('perCall'),
      retryPolicy(retry),
      ...at('perRetry'),
      authPolicy(credential, host, baseUrl, { tokenLifetimeInSeconds }),
      logPolicy(),
    ],
    transport,
  );
  return { send, baseUrl, apiVersion, operationTimeoutInMs };
}
