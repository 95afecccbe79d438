/** The OpenAPI 3 document, generated from the registered routes' JSON schemas. */

export interface RouteDoc {
  method: string;
  url: string;
  schema?: {
    summary?: string;
    description?: string;
    params?: { properties?: Record<string, Record<string, unknown>>; required?: readonly string[] };
    querystring?: { properties?: Record<string, Record<string, unknown>>; required?: readonly string[] };
    body?: unknown;
    response?: Record<string, unknown>;
  };
}

function responses(schema: RouteDoc["schema"]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const r = schema?.response;
  if (!r) return { 200: { description: "OK" } };
  for (const [status, body] of Object.entries(r))
    out[status.toUpperCase()] = {
      description: status.startsWith("2") ? "OK" : "error",
      content: { "application/json": { schema: body } },
    };
  return out;
}

function requestBody(body: unknown): unknown {
  if (!body || typeof body !== "object") return undefined;
  const content = (body as { content?: Record<string, { schema: unknown }> }).content;
  if (content)
    return {
      required: true,
      content: Object.fromEntries(Object.entries(content).map(([type, c]) => [type, { schema: c.schema }])),
    };
  return { required: true, content: { "application/json": { schema: body } } };
}

export function buildOpenApi(routes: readonly RouteDoc[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = r.url.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
    const parameters: unknown[] = [];
    for (const [where, s] of [
      ["path", r.schema?.params],
      ["query", r.schema?.querystring],
    ] as const)
      for (const [name, schema] of Object.entries(s?.properties ?? {}))
        parameters.push({
          name,
          in: where,
          required: where === "path" || (s?.required ?? []).includes(name),
          schema,
        });
    const op: Record<string, unknown> = { responses: responses(r.schema) };
    if (r.schema?.summary) op.summary = r.schema.summary;
    if (r.schema?.description) op.description = r.schema.description;
    if (parameters.length > 0) op.parameters = parameters;
    const body = requestBody(r.schema?.body);
    if (body) op.requestBody = body;
    paths[path] ??= {};
    (paths[path] as Record<string, unknown>)[r.method.toLowerCase()] = op;
  }
  return {
    openapi: "3.0.3",
    info: { title: "Ordo sequencer API", version: "1" },
    paths,
  };
}
