import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { allEndpoints } from '../../src/api/app.js';
import { citizenApplication, openRaFixture, type RaFixture } from '../helpers/ra.js';

/** GET /api/openapi.json is a valid OpenAPI 3.1 document of the API the server enforces; /api/docs shows it. */
let f: RaFixture;
// The document is walked as plain JSON, as any OpenAPI tool would.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
let doc: any;
beforeAll(async () => {
  f = await openRaFixture();
  doc = (await f.api('GET', '/api/openapi.json', null)).body;
}, 120_000);
afterAll(async () => {
  await f?.close();
});

describe('the OpenAPI document', () => {
  it('is valid OpenAPI 3.1 (checked by an independent validator)', async () => {
    expect(doc.openapi).toBe('3.1.0');
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('lists every endpoint with its roles, and every $ref resolves', () => {
    for (const e of allEndpoints(f.pki.ctx.ra)) {
      const op = doc.paths[e.path]?.[e.method];
      expect({ path: e.path, method: e.method, present: Boolean(op) }).toEqual({ path: e.path, method: e.method, present: true });
      expect(Array.isArray(op['x-roles'])).toBe(true);
      expect(op.responses[String(e.response.status)]).toBeDefined();
    }
    expect(doc.paths['/api/v1/applications'].post['x-roles']).toEqual(['clerk', 'supervisor', 'ca-operator']);
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    expect(refs.length).toBeGreaterThan(5);
    for (const ref of refs) {
      const pointer = ref.slice(8, -1).replace('#/', '').split('/');
      expect({ ref, resolves: pointer.reduce((node: Record<string, unknown> | undefined, key) => node?.[key] as Record<string, unknown> | undefined, doc) !== undefined }).toEqual({ ref, resolves: true });
    }
  });

  it('describes the same request bodies the server accepts and refuses', async () => {
    const ajv = new Ajv2020({ strict: false });
    ajv.addSchema({ $id: 'doc', components: doc.components });
    const bodySchema = JSON.parse(JSON.stringify(doc.paths['/api/v1/applications'].post.requestBody.content['application/json'].schema).replaceAll('#/components', 'doc#/components'));
    const validate = ajv.compile(bodySchema);
    const good = citizenApplication();
    const bad = { ...citizenApplication(), product: 'tablet' };
    const extra = { ...citizenApplication(), colour: 'blue' };
    expect(validate(good)).toBe(true);
    expect(validate(bad)).toBe(false);
    expect(validate(extra)).toBe(false);
    expect((await f.api('POST', '/api/v1/applications', f.tokens.clerk, good)).status).toBe(201);
    expect((await f.api('POST', '/api/v1/applications', f.tokens.clerk, bad)).status).toBe(400);
    expect((await f.api('POST', '/api/v1/applications', f.tokens.clerk, extra)).status).toBe(400);
  });

  it('/api/docs is a self-contained page listing every operation', async () => {
    const res = await fetch(`${f.url}/api/docs`);
    expect(res.headers.get('content-type')).toContain('text/html');
    const html = await res.text();
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href="https?:/);
    for (const path of Object.keys(doc.paths)) expect(html).toContain(path);
    expect(html).toContain('/api/openapi.json');
  });
});
