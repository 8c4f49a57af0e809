/**
 * /api/docs: the OpenAPI document as one self-contained HTML page (no scripts or styles from
 * elsewhere: desks may sit behind strict proxies), each operation with its roles and schemas.
 */
type Json = Record<string, unknown>;

const escape = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function renderDocsPage(doc: Json): string {
  const info = doc.info as { title: string; version: string; description: string };
  const paths = doc.paths as Record<string, Record<string, Json>>;
  const schemas = ((doc.components as Json).schemas ?? {}) as Record<string, unknown>;
  const ops = Object.entries(paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })));
  const tags = [...new Set(ops.map((o) => (o.op.tags as string[])[0]!))];
  const section = (tag: string) => {
    const items = ops.filter((o) => (o.op.tags as string[])[0] === tag).map(({ path, method, op }) => {
      const roles = op['x-roles'] as string[];
      const access = op.security ? 'public' : roles.length ? roles.join(', ') : 'any token';
      const params = ((op.parameters ?? []) as { name: string; in: string; required: boolean; description?: string }[])
        .map((p) => `<li><code>${escape(p.name)}</code> (${p.in}${p.required ? ', required' : ''})${p.description ? ` — ${escape(p.description)}` : ''}</li>`)
        .join('');
      const body = (op.requestBody as { content: Record<string, { schema: unknown }> } | undefined)?.content['application/json']?.schema;
      const responses = Object.entries(op.responses as Record<string, { description: string }>)
        .map(([status, r]) => `<li><b>${status}</b> ${escape(r.description)}</li>`)
        .join('');
      return `<section class="op" id="${escape(String(op.operationId))}">
<h3><span class="m ${method}">${method.toUpperCase()}</span> <code>${escape(path)}</code></h3>
<p>${escape(String(op.summary))}</p>${op.description ? `<p>${escape(String(op.description))}</p>` : ''}
<p class="roles">Access: ${escape(access)}</p>
${params ? `<h4>Parameters</h4><ul>${params}</ul>` : ''}
${body ? `<h4>Request body</h4><pre>${escape(JSON.stringify(body, null, 2))}</pre>` : ''}
<h4>Responses</h4><ul>${responses}</ul>
</section>`;
    });
    return `<h2 id="${escape(tag)}">${escape(tag)}</h2>${items.join('\n')}`;
  };
  const schemaList = Object.entries(schemas)
    .map(([name, s]) => `<section class="op" id="schema-${escape(name)}"><h3>${escape(name)}</h3><pre>${escape(JSON.stringify(s, null, 2))}</pre></section>`)
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(info.title)}</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
code,pre{font:13px ui-monospace,monospace}pre{background:#f4f4f4;padding:.6rem;overflow:auto;max-height:24rem}
.op{border-top:1px solid #ddd;padding:.4rem 0}.m{display:inline-block;min-width:3.5rem;color:#fff;padding:0 .3rem;border-radius:3px;text-align:center}
.get{background:#2f6f3e}.post{background:#1f4f8f}.roles{color:#555}
</style></head><body>
<h1>${escape(info.title)} <small>${escape(info.version)}</small></h1>
<p>${escape(info.description)}</p>
<p>Machine-readable: <a href="/api/openapi.json">/api/openapi.json</a> (OpenAPI 3.1).</p>
<nav><ul>${tags.map((t) => `<li><a href="#${escape(t)}">${escape(t)}</a></li>`).join('')}<li><a href="#schemas">Schemas</a></li></ul></nav>
${tags.map(section).join('\n')}
<h2 id="schemas">Schemas</h2>
${schemaList}
</body></html>`;
}
