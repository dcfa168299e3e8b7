// The rtdeclip page: submits a job through the same REST API as scripts
// (POST /api/v1/jobs), follows it through the JSON-lines event stream
// (falling back to polling), then fetches the results with the token
// (downloads need it, so files become blob: URLs for the players and links).
"use strict";

const TOKEN_KEY = "rtdeclip-token";
const $ = (id) => document.getElementById(id);
let blobs = [];

function token() { return localStorage.getItem(TOKEN_KEY) || ""; }
function authHeaders() { return { Authorization: "Token token=" + token() }; }

function showToken() {
  const has = !!token();
  $("token-form").hidden = has;
  $("token-saved").hidden = !has;
}

$("token-save").addEventListener("click", () => {
  const t = $("token").value.trim();
  if (t) localStorage.setItem(TOKEN_KEY, t);
  $("token").value = "";
  showToken();
});
$("token-change").addEventListener("click", () => {
  localStorage.removeItem(TOKEN_KEY);
  showToken();
  $("token").focus();
});
showToken();

function fail(msg) {
  $("error").textContent = msg;
  $("error").hidden = false;
  $("run").disabled = false;
}

// upload names must match the server's alphabet; job[param] quotes them
function safeName(name) {
  let n = name.replace(/[^A-Za-z0-9 ._+()\[\]-]/g, "_").replace(/^[^A-Za-z0-9]+/, "");
  return (n || "audio").slice(0, 200);
}
function shQuote(s) { return "'" + s.replace(/'/g, "'\\''") + "'"; }

function setProgress(fraction, text) {
  $("progress").value = Math.max(0, Math.min(1, fraction));
  if (text) $("status").textContent = text;
}

$("job-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  if (!token()) { fail("Enter your token first."); return; }
  const clipped = $("clipped").files[0];
  const reference = $("reference").files[0];
  if (!clipped) { fail("Choose a clipped file."); return; }
  let cname = safeName(clipped.name);
  let rname = reference ? safeName(reference.name) : null;
  if (rname && rname === cname) rname = "reference_" + rname;
  let param = "-c " + shQuote(cname) + " -p " + $("preset").value;
  if (rname) param += " -o " + shQuote(rname);

  const fd = new FormData();
  fd.append("job[webapp_id]", "134");
  fd.append("job[param]", param);
  fd.append("job[queue]", "interactive");
  fd.append("files[0]", clipped, cname);
  if (reference) fd.append("files[1]", reference, rname);

  for (const url of blobs) URL.revokeObjectURL(url);
  blobs = [];
  $("error").hidden = true;
  $("results").hidden = true;
  $("progress-box").hidden = false;
  $("job-id").textContent = "";
  $("run").disabled = true;
  setProgress(0, "uploading…");

  // XMLHttpRequest: fetch cannot report upload progress
  const xhr = new XMLHttpRequest();
  xhr.open("POST", "/api/v1/jobs");
  xhr.setRequestHeader("Authorization", "Token token=" + token());
  xhr.upload.onprogress = (e) => {
    if (e.lengthComputable) setProgress(0.1 * e.loaded / e.total, "uploading…");
  };
  xhr.onerror = () => fail("Upload failed: the server could not be reached.");
  xhr.onload = () => {
    let body = {};
    try { body = JSON.parse(xhr.responseText); } catch (e) { /* keep {} */ }
    if (xhr.status !== 200) {
      if (xhr.status === 401) { localStorage.removeItem(TOKEN_KEY); showToken(); }
      fail(body.error || ("Upload refused (HTTP " + xhr.status + ")"));
      return;
    }
    $("job-id").textContent = "job " + body.id;
    follow(body.id);
  };
  xhr.send(fd);
});

// the event stream: {"status"}, {"progress"}, {"logs"}, {"eof"}, {} keepalives
async function follow(id) {
  let ended = false;
  try {
    const r = await fetch("/api/v1/jobs/" + id + "/events?offset=-1", { headers: authHeaders() });
    if (!r.ok || !r.body) throw new Error("no stream");
    const reader = r.body.getReader();
    const dec = new TextDecoder();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!line.trim()) continue;
        const m = JSON.parse(line);
        if ("status" in m) setProgress($("progress").value, statusText(m.status));
        if ("progress" in m) setProgress(0.1 + 0.9 * m.progress,
          "declipping… " + Math.round(100 * m.progress) + " %");
        if ("eof" in m) ended = true;
      }
    }
  } catch (e) { /* fall back to polling below */ }
  if (!ended) await poll(id);
  await results(id);
}

function statusText(s) {
  return { created: "received", waiting: "waiting in the queue…", running: "declipping…",
           "in progress": "declipping…", done: "done", error: "failed" }[s] || s;
}

async function poll(id) {
  for (;;) {
    const r = await fetch("/api/v1/jobs/" + id, { headers: authHeaders() });
    if (!r.ok) return;
    const job = await r.json();
    setProgress($("progress").value, statusText(job.status));
    if (job.status === "done" || job.status === "error") return;
    await new Promise((res) => setTimeout(res, 1000));
  }
}

async function blobOf(url) {
  const r = await fetch(url, { headers: authHeaders() });
  if (!r.ok) throw new Error("download failed: HTTP " + r.status);
  const u = URL.createObjectURL(await r.blob());
  blobs.push(u);
  return u;
}

async function textOf(url) {
  const r = await fetch(url, { headers: authHeaders() });
  return r.ok ? r.text() : "";
}

async function results(id) {
  const r = await fetch("/api/v1/jobs/" + id, { headers: authHeaders() });
  const job = await r.json();
  if (!r.ok) { fail(job.error || "HTTP " + r.status); return; }
  const files = job[String(id)] || {};
  if (job.status !== "done") {
    fail(job.error || "The job failed; see allgo.log.");
    setProgress(1, "failed");
    return;
  }
  setProgress(1, "done");
  const names = Object.keys(files);
  const out = names.find((n) => n.startsWith("Declipped_"));
  const cname = out ? out.slice("Declipped_".length, -4) : null;
  const input = names.find((n) => !n.startsWith("Declipped_") && n.replace(/\.[^.]*$/, "") === cname);

  const list = $("downloads");
  list.textContent = "";
  for (const n of names) {
    const a = document.createElement("a");
    a.textContent = n;
    a.download = n;
    a.href = "#";
    a.addEventListener("click", async (e) => {   // fetched with the token on demand
      if (a.href.startsWith("blob:")) return;
      e.preventDefault();
      a.href = await blobOf(files[n]);
      a.click();
    });
    const li = document.createElement("li");
    li.appendChild(a);
    list.appendChild(li);
  }
  try {
    if (input) $("before").src = await blobOf(files[input]);
    if (out) $("after").src = await blobOf(files[out]);
    if (files["plot.png"]) { $("plot").src = await blobOf(files["plot.png"]); $("plot").hidden = false; }
  } catch (e) { fail(String(e)); }
  $("log").textContent = files["allgo.log"] ? await textOf(files["allgo.log"]) : "";
  $("sdr").textContent = "";
  if (files["report.json"]) {
    try { sdrTable(JSON.parse(await textOf(files["report.json"]))); } catch (e) { /* no table */ }
  }
  $("results").hidden = false;
  $("run").disabled = false;
}

function sdrTable(report) {
  if (!report.sdr) {
    $("sdr").innerHTML = "<p class='note'>No reference given: no SDR.</p>";
    return;
  }
  const t = document.createElement("table");
  t.innerHTML = "<caption>SDR against the clean original</caption>" +
    "<thead><tr><th></th><th>Old SDR</th><th>New SDR</th><th>Improvement</th></tr></thead>";
  const body = document.createElement("tbody");
  const fmt = (v) => (v === null || v === undefined ? "–" : v.toFixed(2) + " dB");
  const row = (label, s) => {
    const tr = document.createElement("tr");
    for (const v of [label, fmt(s.old_db), fmt(s.new_db), fmt(s.improvement_db)]) {
      const td = document.createElement("td");
      td.textContent = v;
      tr.appendChild(td);
    }
    body.appendChild(tr);
  };
  for (const c of report.sdr.channels) row("Channel " + c.channel, c);
  row("Mix", report.sdr.mix);
  t.appendChild(body);
  $("sdr").appendChild(t);
}
