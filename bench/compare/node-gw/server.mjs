// In-memory Node.js SCIM 2.0 gateway for bench/compare.sh.
//
// The SCIM protocol layer is the published npm packages `scimmy` (schemas, validation, filter
// parsing, ListResponse, errors) and `scimmy-routers` (the Express routes for /Users,
// /Schemas, /ResourceTypes, /ServiceProviderConfig, /Bulk, /Me); this file only supplies
// what those libraries leave to the application: the store (two JavaScript Maps, nothing
// durable) and a bearer-token check. One process, one event loop, as such gateways run.
//
// Env: GW_LISTEN (127.0.0.1:PORT), GW_TOKEN (bearer token), GW_BASE (mount path, /scim/v2).
import crypto from "node:crypto";
import express from "express";
import SCIMMY from "scimmy";
import SCIMMYRouters from "scimmy-routers";

const [host, port] = (process.env.GW_LISTEN ?? "127.0.0.1:8081").split(":");
const token = process.env.GW_TOKEN ?? "bench";
const base = process.env.GW_BASE ?? "/scim/v2";
if (host !== "127.0.0.1" && host !== "localhost") throw new Error("loopback only");

const users = new Map();   // id -> stored user (plain JSON)
const byName = new Map();  // lower-cased userName (caseExact=false, RFC 7643) -> id

const conflict = (u) => new SCIMMY.Types.Error(409, "uniqueness", `userName ${u} is already in use`);

SCIMMY.Resources.declare(SCIMMY.Resources.User)
  .ingress((resource, instance) => {
    const now = new Date().toISOString();
    const data = JSON.parse(JSON.stringify(instance));  // store a plain copy, like a document store
    const key = String(data.userName).toLowerCase();
    const owner = byName.get(key);
    if (resource.id) {  // PUT / PATCH
      const old = users.get(resource.id);
      if (!old) throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
      if (owner !== undefined && owner !== resource.id) throw conflict(data.userName);
      byName.delete(String(old.userName).toLowerCase());
      const u = { ...data, id: resource.id, meta: { created: old.meta.created, lastModified: now } };
      users.set(resource.id, u);
      byName.set(key, resource.id);
      return u;
    }
    if (owner !== undefined) throw conflict(data.userName);
    const id = crypto.randomUUID();
    const u = { ...data, id, meta: { created: now, lastModified: now } };
    users.set(id, u);
    byName.set(key, id);
    return u;
  })
  .egress((resource) => {
    if (resource.id) {
      const u = users.get(resource.id);
      if (!u) throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
      return u;
    }
    const f = resource.filter;
    // `userName eq "x"` is answered from the index, as a store with a unique index would;
    // any other filter is evaluated by scimmy over all users.
    if (f && f.length === 1 && Object.keys(f[0]).length === 1 && Array.isArray(f[0].userName)
        && f[0].userName[0] === "eq") {
      const id = byName.get(String(f[0].userName[1]).toLowerCase());
      return id === undefined ? [] : [users.get(id)];
    }
    const all = [...users.values()];
    return f ? f.match(all) : all;
  })
  .degress((resource) => {
    const u = users.get(resource.id);
    if (!u) throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
    users.delete(resource.id);
    byName.delete(String(u.userName).toLowerCase());
  });

const app = express();
app.disable("x-powered-by");
app.get("/healthz", (_req, res) => res.json({ status: "ok", users: users.size }));
app.use(base, new SCIMMYRouters({
  type: "bearer",
  docUri: "https://example.com/bench",
  handler: (req) => {
    if (req.header("Authorization") !== `Bearer ${token}`) throw new Error("Authorization failed");
    return "bench";
  },
}));
app.listen(Number(port), host, () => console.log(`node-gw listening on ${host}:${port}${base}`));
