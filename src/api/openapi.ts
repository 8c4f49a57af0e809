import { z } from 'zod';
import { rolesWith } from '../policy/roles.js';
import type { Endpoint } from './endpoint.js';
import { JSON_BODY_LIMIT } from './endpoint.js';
import { ProblemSchema } from './schemas.js';

type JsonObject = Record<string, unknown>;

/**
 * OpenAPI 3.1 (whose schemas are JSON Schema 2020-12) from the endpoint declarations: the same zod
 * schemas that validate each request. Named schemas (`.meta({ id })`) become components.
 */
export function buildOpenApi(endpoints: Endpoint[], info: { version: string; serverUrl?: string }): JsonObject {
  const components: Record<string, unknown> = {};
  const schema = (s: z.ZodType, io: 'input' | 'output'): unknown => {
    const json = z.toJSONSchema(s, { target: 'draft-2020-12', io, unrepresentable: 'any', reused: 'inline', cycles: 'ref', metadata: z.globalRegistry }) as JsonObject;
    return hoist(json, components);
  };
  const paths: Record<string, Record<string, unknown>> = {};
  for (const e of endpoints) {
    const roles = e.access === 'public' || e.access === 'authenticated' ? [] : rolesWith(e.access);
    const parameters = [
      ...[...e.path.matchAll(/\{([A-Za-z]+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } })),
      ...(e.query ? queryParameters(e.query) : []),
      ...(e.method === 'post'
        ? [{ name: 'Idempotency-Key', in: 'header', required: false, description: 'repeat a POST safely: the same key and body get the first reply again', schema: { type: 'string', maxLength: 200 } }]
        : []),
    ];
    const problem = { content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };
    const responses: Record<string, unknown> = {
      [String(e.response.status)]: { description: e.response.description, content: { 'application/json': { schema: schema(e.response.schema, 'output') } } },
    };
    const errors: Record<number, string[]> = { 400: ['invalidInput', 'malformedJson', 'bodyTooLarge'], ...e.errors };
    if (e.access !== 'public') Object.assign(errors, { 401: ['missingToken', 'invalidToken'], 429: ['tooManyFailedLogins'] });
    if (roles.length) errors[403] = [...(errors[403] ?? []), 'roleForbids'];
    for (const [status, codes] of Object.entries(errors)) responses[status] = { description: `codes: ${codes.join(', ')}`, ...problem };
    (paths[e.path] ??= {})[e.method] = {
      summary: e.summary,
      ...(e.description ? { description: e.description } : {}),
      tags: [e.tag],
      operationId: operationId(e),
      ...(e.access === 'public' ? { security: [] } : {}),
      'x-roles': roles,
      ...(parameters.length ? { parameters } : {}),
      ...(e.body ? { requestBody: { required: true, content: { 'application/json': { schema: schema(e.body, 'input') } } } } : {}),
      responses,
    };
  }
  components.Problem = schema(ProblemSchema, 'output');
  return {
    openapi: '3.1.0',
    info: {
      title: 'e-imza registration and status API',
      version: info.version,
      description: `Registration desks (post offices, ASAN centres), holders' requests and certificate status. Errors are RFC 9457 problem details with a stable \`code\`. Request bodies are limited to ${JSON_BODY_LIMIT} (64kb where a CSR is sent).`,
    },
    ...(info.serverUrl ? { servers: [{ url: info.serverUrl }] } : {}),
    security: [{ bearer: [] }],
    paths,
    components: { schemas: components, securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'an operator or machine-client token (eimza operator add)' } } },
  };
}

function operationId(e: Endpoint): string {
  const words = e.path.replace('/api/v1/', '').split('/').map((w) => (w.startsWith('{') ? 'by-' + w.slice(1, -1) : w));
  return [e.method, ...words].join('-').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function queryParameters(q: z.ZodType): unknown[] {
  const json = z.toJSONSchema(q, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as { properties?: Record<string, JsonObject>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, s]) => ({ name, in: 'query', required: json.required?.includes(name) ?? false, schema: s }));
}

/** Moves `$defs` (named schemas) into components and points their refs there. */
function hoist(json: JsonObject, components: Record<string, unknown>): unknown {
  const defs = (json.$defs ?? {}) as Record<string, unknown>;
  delete json.$defs;
  delete json.$schema;
  for (const [name, def] of Object.entries(defs)) components[name] = rewriteRefs(def);
  return rewriteRefs(json);
}

function rewriteRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (value && typeof value === 'object') {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out[k] = v.replace('#/$defs/', '#/components/schemas/');
      else if (k !== '$schema') out[k] = rewriteRefs(v);
    }
    return out;
  }
  return value;
}
