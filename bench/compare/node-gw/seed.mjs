// Seeds N users seed<k>@example.com (k = 1..N) into a SCIM server through its API
// (POST <base>/Users), CONC requests in flight. Usage: node seed.mjs URL_BASE TOKEN N [CONC]
// Prints the seconds taken; exits non-zero on any non-201.
const [base, token, nStr, concStr] = process.argv.slice(2);
const n = Number(nStr), conc = Number(concStr ?? 16);
if (!/^http:\/\/(127\.0\.0\.1|localhost)[:/]/.test(base)) throw new Error("loopback only");
let next = 1, bad = 0;
const t0 = performance.now();
async function worker() {
  while (next <= n) {
    const k = next++;
    const u = `seed${k}@example.com`;
    const res = await fetch(`${base}/Users`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/scim+json" },
      body: JSON.stringify({
        schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: u,
        name: { givenName: "Seed", familyName: `User${k}` }, displayName: `Seed User ${k}`,
        emails: [{ value: u, type: "work", primary: true }], active: true,
      }),
    });
    await res.arrayBuffer();
    if (res.status !== 201 && bad++ < 3) console.error(`seed ${u}: HTTP ${res.status}`);
  }
}
await Promise.all(Array.from({ length: conc }, worker));
console.log(((performance.now() - t0) / 1000).toFixed(1));
if (bad) { console.error(`${bad} seed requests failed`); process.exit(1); }
