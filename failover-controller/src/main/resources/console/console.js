// Meridian console: one page over the admin API. Everything it shows comes from /v1/* with the bearer token the
// operator typed (kept in sessionStorage: gone when the tab closes). Live updates come from two server-sent event
// streams, /v1/events (plans, lifecycle changes, admin actions) and /v1/observations (health and traffic reports);
// the page fetches the plan and the regions once at sign-in and again only when an event says they changed.
// There is no polling timer. EventSource cannot send an Authorization header, so the streams are read with fetch.
"use strict";
(() => {
  const TOKEN_KEY = "meridian.token";
  const LIFECYCLES = ["active", "draining", "drained", "failed", "recovering"];
  const ROLE_RANK = { viewer: 0, operator: 1, admin: 2 };
  const $ = (id) => document.getElementById(id);
  const state = {
    token: sessionStorage.getItem(TOKEN_KEY), role: null, name: null, regions: [], planVersion: null,
    planAt: null, shortfall: 0, health: new Map(), traffic: new Map(), events: [], abort: null, pending: null,
    readiness: new Map(), flows: [], homes: { promotions: {}, fenced: [] }, successors: {}, firstRender: true,
  };

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v; else if (k === "text") e.textContent = v; else e.setAttribute(k, v);
    }
    for (const c of children) if (c != null) e.append(c);
    return e;
  }
  const svg = (tag, attrs) => {
    const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    return e;
  };
  const fmt = (n) => (n == null ? "–" : Math.round(n).toLocaleString("en"));

  /** A call to the admin API: resolves to {status, body}; a network failure rejects. */
  async function api(method, path, body) {
    const res = await fetch(path, {
      method, cache: "no-store", signal: state.abort?.signal,
      headers: { Authorization: "Bearer " + state.token, ...(body ? { "Content-Type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch (e) { json = { message: text }; }
    if (res.status === 401) signOut("Token refused (401 " + (json?.rule || "unauthenticated") + "): "
        + (json?.message || "unknown token"));
    return { status: res.status, body: json };
  }

  // ---- sign-in ----
  async function signIn(token) {
    state.token = token;
    state.abort = new AbortController();
    $("login-error").textContent = "";
    let who;
    try {
      who = await api("GET", "/v1/whoami");
    } catch (e) {
      $("login-error").textContent = "Cannot reach the controller: " + e.message;
      return;
    }
    if (who.status !== 200) {
      if (who.status !== 401) $("login-error").textContent = "Sign-in failed (" + who.status + "): " + who.body?.message;
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, token);
    state.role = who.body.role;
    state.name = who.body.name;
    $("who").textContent = state.name + " (" + state.role + ")";
    $("login").hidden = true;
    $("app").hidden = false;
    $("logout").hidden = false;
    await loadMap();
    await Promise.all([refreshPlan(), refreshRegions(), refreshFlows(), loadAudit()]);
    // after a reconnect (a controller restart) re-read what the stream may have missed
    let connects = 0;
    stream("/v1/events", onEvent, () => { if (connects++ > 0) { refreshPlan(); refreshRegions(); refreshFlows(); } });
    // the observations stream starts with the latest report of every source: forget the ones a restart dropped
    stream("/v1/observations", onObservation, () => { state.health.clear(); state.traffic.clear(); });
  }

  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    state.abort?.abort();
    state.token = null;
    $("app").hidden = true;
    $("logout").hidden = true;
    $("login").hidden = false;
    $("who").textContent = "";
    $("stream").textContent = "";
    $("login-error").textContent = message || "";
    $("token").value = "";
    $("token").focus();
  }

  // ---- live streams ----
  /**
   * Reads a text/event-stream with fetch and calls onEvent(type, data) per event. When the stream ends (the
   * controller restarted, the network dropped) it reconnects after 2 s and calls onConnect(true) so the caller
   * re-reads what it may have missed.
   */
  async function stream(path, onEvent, onConnect) {
    const signal = state.abort.signal;
    while (!signal.aborted) {
      try {
        const res = await fetch(path, { headers: { Authorization: "Bearer " + state.token }, cache: "no-store", signal });
        if (res.status === 401) { signOut("Token refused (401): the controller no longer accepts this token"); return; }
        if (!res.ok) throw new Error("HTTP " + res.status);
        setStream(true);
        onConnect(true);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let i;
          while ((i = buf.indexOf("\n\n")) >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            let type = "message", data = "";
            for (const line of block.split("\n")) {
              if (line.startsWith("event: ")) type = line.slice(7);
              else if (line.startsWith("data: ")) data += line.slice(6);
            }
            if (data) onEvent(type, JSON.parse(data));
          }
        }
      } catch (e) {
        if (signal.aborted) return;
      }
      setStream(false);
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
  function setStream(up) {
    $("stream").className = "stream " + (up ? "live" : "down");
    $("stream").textContent = up ? "live" : "reconnecting…";
  }

  function onEvent(type, e) {
    addEvent(e);
    if (type === "plan_published") {
      state.planVersion = e.version;
      state.planAt = Date.parse(e.at);
      renderPlan();
      refreshFlows();
    }
    // any event may change lifecycles, notes or loads: re-read the regions (coalesced while one read is in flight)
    refreshRegions();
  }

  function onObservation(type, o) {
    if (type === "readiness") {
      if (o.report) setReadiness(o.report.regions);
      renderRegions();
      return;
    }
    const map = type === "health" ? state.health : state.traffic;
    if (o.report) map.set(o.source, o.report); else map.delete(o.source);
    renderRegions();
  }

  // ---- reads ----
  async function refreshPlan() {
    const r = await api("GET", "/v1/plan");
    if (r.status === 200) {
      state.planVersion = r.body.version;
      state.planAt = Date.parse(r.body.created_at);
      renderPlan();
    }
  }
  let regionsInFlight = null, regionsAgain = false;
  function refreshRegions() {
    if (regionsInFlight) { regionsAgain = true; return regionsInFlight; }
    regionsInFlight = api("GET", "/v1/regions").then((r) => {
      if (r.status === 200) {
        state.regions = r.body.regions;
        state.shortfall = r.body.shortfall_rps;
        state.frozen = r.body.frozen;
        state.homes = r.body.homes || state.homes;
        state.successors = r.body.successors || {};
        setReadiness(r.body.regions.filter((x) => x.readiness).map((x) => ({ region: x.id, ...x.readiness })));
        if (state.planVersion == null || r.body.plan_version > state.planVersion) state.planVersion = r.body.plan_version;
        renderRegions();
        renderPlan();
      }
    }).catch(() => {}).finally(() => {
      regionsInFlight = null;
      if (regionsAgain) { regionsAgain = false; refreshRegions(); }
    });
    return regionsInFlight;
  }
  /** Keeps each region's newest readiness (from /v1/regions or the observations stream, whichever is newer). */
  function setReadiness(list) {
    for (const x of list || []) {
      const had = state.readiness.get(x.region);
      if (!had || Date.parse(x.computed_at) >= Date.parse(had.computed_at)) state.readiness.set(x.region, x);
    }
  }

  let flowsInFlight = null, flowsAgain = false;
  function refreshFlows() {
    if (flowsInFlight) { flowsAgain = true; return flowsInFlight; }
    flowsInFlight = api("GET", "/v1/plan/flows?limit=" + FLOW_LIMIT).then((r) => {
      if (r.status === 200) {
        state.flows = r.body.flows;
        renderMap();
      }
    }).catch(() => {}).finally(() => {
      flowsInFlight = null;
      if (flowsAgain) { flowsAgain = false; refreshFlows(); }
    });
    return flowsInFlight;
  }
  const FLOW_LIMIT = 300;

  async function loadAudit() {
    const r = await api("GET", "/v1/audit?limit=50");
    if (r.status !== 200) return;
    for (const a of r.body.entries) {
      addEvent({ at: a.at, type: "audit_" + a.action, region: a.target,
        message: a.who + " (" + a.role + "): " + a.action + " " + (a.target || "") + (a.reason ? " — " + a.reason : "") });
    }
  }

  // ---- rendering ----
  function renderPlan() {
    if (state.planVersion == null) return;
    const age = state.planAt ? Math.max(0, Math.round((Date.now() - state.planAt) / 1000)) : null;
    $("plan").textContent = "plan v" + state.planVersion + (age == null ? "" : " · " + age + " s old")
      + (state.frozen ? " · AUTOMATION FROZEN: " + state.frozen.reason : "");
    const canAct = ROLE_RANK[state.role] >= ROLE_RANK.operator;
    $("freeze").disabled = !canAct || !!state.frozen;
    $("unfreeze").disabled = !canAct || !state.frozen;
    $("automation").textContent = state.frozen ? "Automation FROZEN by " + state.frozen.by + ": " + state.frozen.reason
      : "Automation running (failover, failback, ramps, drain steps)";
  }
  // the age text counts up locally; this timer reads nothing from the controller
  setInterval(() => { if (state.token) renderPlan(); }, 1000);

  function measured(regionId) {
    let sum = 0, any = false;
    for (const t of state.traffic.values()) {
      if (t.region_rps && regionId in t.region_rps) { sum += t.region_rps[regionId]; any = true; }
    }
    return any ? sum : null;
  }

  function bar(kind, value, capacity, limit) {
    const b = el("div", { class: "bar " + kind, role: "meter", "aria-label": kind + " load",
      "aria-valuemin": "0", "aria-valuemax": String(capacity), "aria-valuenow": String(Math.round(value || 0)) });
    const pct = capacity > 0 ? Math.min(100, (100 * (value || 0)) / capacity) : 0;
    const fill = el("div", { class: "fill" });
    fill.style.width = pct + "%";
    const line = el("div", { class: "headroom", title: "headroom limit " + fmt(limit) + " rps" });
    line.style.left = (capacity > 0 ? Math.min(100, (100 * limit) / capacity) : 0) + "%";
    b.append(fill, line);
    return b;
  }

  function renderRegions() {
    const root = $("regions");
    const canAct = ROLE_RANK[state.role] >= ROLE_RANK.operator;
    root.replaceChildren();
    for (const r of state.regions) {
      const lc = r.lifecycle.toLowerCase();
      const m = measured(r.id);
      const vps = el("ul", { class: "vps", "aria-label": "health per vantage point" });
      for (const [vp, rep] of [...state.health.entries()].sort()) {
        const rr = rep.regions.find((x) => x.region === r.id);
        if (rr) vps.append(el("li", { class: rr.health, title: rr.detail || "" , text: vp + ": " + rr.health.toLowerCase() }));
      }
      if (!vps.children.length) vps.append(el("li", { text: "no vantage point has reported yet" }));
      const actions = el("div", { class: "actions", role: "group", "aria-label": "actions on " + r.id });
      for (const a of REGION_ACTIONS) {
        const b = el("button", { type: "button", "data-action": a, "data-region": r.id, text: a });
        b.disabled = !canAct;
        if (!canAct) b.title = "needs the operator role (you are " + state.role + ")";
        b.addEventListener("click", () => openAction(a, r.id));
        actions.append(b);
      }
      const note = r.override ? r.override.mode + " by " + r.override.by + ": " + r.override.reason : r.note;
      const acting = state.homes.promotions?.[r.id];
      const homeNote = acting ? "home promoted to " + acting : null;
      const fenced = (state.homes.fenced || []).includes(r.id) ? "fenced (no writes)" : null;
      root.append(el("article", { class: "region lc-" + lc, id: "region-" + r.id, "data-lifecycle": lc,
          "aria-labelledby": "region-title-" + r.id },
        el("h3", { id: "region-title-" + r.id }, el("span", { text: r.id }), el("span", { class: "state lc-" + lc, text: lc })),
        el("p", { class: "meta", text: "group " + r.residency_group + " · health " + r.health.toLowerCase()
          + " · share " + r.traffic_share.toFixed(2) + " · capacity " + fmt(r.capacity_rps) + " rps" }),
        el("div", { class: "bar-label" }, el("span", { text: "planned " + fmt(r.load_rps) + " rps" }),
          el("span", { text: Math.round(100 * r.utilisation) + "% · limit " + fmt(r.limit_rps) })),
        bar("planned", r.load_rps, r.capacity_rps, r.limit_rps),
        el("div", { class: "bar-label" }, el("span", { text: "measured " + (m == null ? "– (no proxy report)" : fmt(m) + " rps") })),
        bar("measured", m, r.capacity_rps, r.limit_rps),
        readinessView(r),
        vps,
        note ? el("p", { class: "note", text: note }) : null,
        homeNote || fenced ? el("p", { class: "note home", text: [homeNote, fenced].filter(Boolean).join(" · ") }) : null,
        actions));
    }
    if (state.firstRender && state.regions.length) {
      state.firstRender = false;
      performance.mark("meridian-regions-rendered"); // the test reads it: time from navigation to the regions shown
    }
    $("shortfall").textContent = state.shortfall > 0 ? "Shortfall: " + fmt(state.shortfall) + " rps cannot be placed (shed by the proxies)" : "";
    renderMap();
  }

  /**
   * Capacity readiness: would the other regions absorb this one's traffic within headroom if it failed — now, and
   * at its peak of the last 24 h. Computed by the controller with the planner of the dry runs.
   */
  function readinessView(r) {
    const x = state.readiness.get(r.id);
    if (!x) {
      return el("p", { class: "readiness unknown", "data-ready": "unknown",
        text: "If it failed: not computed yet (the leading controller computes it after planning)" });
    }
    const one = (c, label) => {
      if (!c) return label + ": no peak known yet";
      const worst = c.worst_region ? " (busiest survivor " + c.worst_region + " at " + Math.round(100 * c.worst_utilisation) + "%)" : "";
      return label + ": " + (c.ready ? "absorbed" + worst
        : fmt(c.shortfall_rps) + " of " + fmt(c.load_rps) + " rps would find no region within headroom" + worst);
    };
    const peakAt = x.peak_24h ? " at " + x.peak_24h.demand_at.replace("T", " ").replace(/\.\d+Z$|Z$/, "Z") : "";
    const p = el("div", { class: "readiness " + (x.ready ? "ready" : "not-ready"), "data-ready": String(x.ready),
        "data-shortfall-now": String(Math.round(x.current.shortfall_rps)),
        "data-shortfall-peak": x.peak_24h ? String(Math.round(x.peak_24h.shortfall_rps)) : "" },
      el("strong", { text: "If it failed: " + (x.ready ? "ready" : "NOT READY") }),
      el("span", { text: one(x.current, "now " + fmt(x.current.load_rps) + " rps") }),
      el("span", { text: one(x.peak_24h, "at its 24 h peak" + (x.peak_24h ? peakAt + " (it carried " + fmt(x.peak_24h.peak_load_rps)
        + " rps then, " + fmt(x.peak_24h.load_rps) + " rps as it stands now)" : "")) }));
    if (!x.serving) p.append(el("span", { text: "carries no traffic now: nothing to absorb" }));
    if (x.last_in_residency_group) p.append(el("span", { text: "last serving region of group " + r.residency_group }));
    return p;
  }

  async function loadMap() {
    if ($("map").querySelector("svg")) return;
    const res = await fetch("world.svg");
    $("map").innerHTML = await res.text();
    const root = $("map").querySelector("svg");
    root.setAttribute("aria-hidden", "true");
    // 75°N to 56°S: where the regions and their clients are (no Antarctica), so the map takes less height
    root.setAttribute("viewBox", "0 15 360 131");
    root.append(svg("g", { id: "map-flows" }), svg("g", { id: "map-explain" }), svg("g", { id: "map-regions" }));
  }
  // world.svg is equirectangular with x = lon + 180, y = 90 - lat
  const px = (lon, lat) => [lon + 180, 90 - lat];
  function renderMap() {
    const g = document.getElementById("map-regions");
    if (!g) return;
    g.replaceChildren();
    const at = new Map();
    for (const r of state.regions) {
      const [x, y] = px(r.longitude, r.latitude), lc = r.lifecycle.toLowerCase();
      at.set(r.id, { x, y, lc });
      const c = svg("circle", { cx: x, cy: y, r: 3, class: "lc-" + lc, id: "map-" + r.id, "data-lifecycle": lc });
      const t = svg("title", {});
      t.textContent = r.id + ": " + lc;
      c.append(t);
      const label = svg("text", { x: x + 4, y: y + 1.5 });
      label.textContent = r.id;
      g.append(c, label);
    }
    // each client zone's planned traffic, drawn to the region that serves it now (width by rps)
    const f = document.getElementById("map-flows");
    f.replaceChildren();
    const max = Math.max(1, ...state.flows.map((x) => x.rps));
    for (const x of state.flows) {
      const to = at.get(x.region);
      if (!to) continue;
      const [zx, zy] = px(x.longitude, x.latitude);
      const line = svg("line", { x1: zx, y1: zy, x2: to.x, y2: to.y, class: "flow lc-" + to.lc + (x.pinned ? " pinned" : ""),
        "stroke-width": (0.3 + 1.7 * Math.sqrt(x.rps / max)).toFixed(2), "data-zone": x.zone, "data-region": x.region,
        "data-rps": String(Math.round(x.rps)) });
      const t = svg("title", {});
      t.textContent = x.zone + " → " + x.region + ": " + fmt(x.rps) + " rps" + (x.pinned ? " (pinned)" : "");
      line.append(t);
      f.append(line, svg("circle", { cx: zx, cy: zy, r: 0.9, class: "zone" }));
    }
    $("map").setAttribute("aria-label", "World map: " + state.regions.map((r) => r.id + " " + r.lifecycle.toLowerCase()).join(", ")
      + "; " + state.flows.length + " client zones drawn to the region serving them");
  }

  const EVENT_LIMIT = 300;
  function addEvent(e) {
    state.events.push(e);
    const li = el("li", { class: "event", "data-type": e.type || "" },
      (e.at || "").replace("T", " ").replace(/\.\d+Z$|Z$/, "Z") + "  " + (e.type || "") + "  " + (e.region || "-")
        + "  " + (e.message || ""));
    applyFilter(li);
    $("events").prepend(li);
    while ($("events").children.length > EVENT_LIMIT) $("events").lastChild.remove();
  }
  function applyFilter(li) {
    const f = $("event-filter").value.trim().toLowerCase();
    li.classList.toggle("hidden", f !== "" && !li.textContent.toLowerCase().includes(f));
  }
  $("event-filter").addEventListener("input", () => { for (const li of $("events").children) applyFilter(li); });

  // ---- actions: always preview (dry run) first, then confirm exactly what was previewed ----
  const REGION_ACTIONS = ["drain", "undrain", "fail", "restore", "promote", "unpromote"];
  /** The admin API route of an action on a target. */
  function route(action, target) {
    const t = encodeURIComponent(target);
    if (action === "promote") return "/v1/homes/" + t + "/promote";
    if (action === "unpromote") return "/v1/homes/" + t + "/restore";
    if (action === "freeze" || action === "unfreeze") return "/v1/" + action;
    return "/v1/regions/" + t + "/" + action;
  }
  function openAction(action, target) {
    state.pending = { action, target };
    $("action").hidden = false;
    $("action-what").textContent = action === "freeze" || action === "unfreeze" ? action + " automation"
      : action === "promote" ? "promote: move the users homed in " + target + " to another region of its group"
      : action === "unpromote" ? "unpromote: give " + target + " its home users back" : action + " " + target;
    $("reason").value = "";
    $("force").disabled = ROLE_RANK[state.role] < ROLE_RANK.admin;
    $("force").checked = false;
    $("force").title = $("force").disabled ? "needs the admin role (you are " + state.role + ")" : "";
    $("promote-row").hidden = action !== "promote";
    if (action === "promote") {
      const home = state.regions.find((r) => r.id === target);
      const succ = state.successors[target];
      $("promote-to").replaceChildren(el("option", { value: "", text: succ ? "configured successor (" + succ + ")"
        : "configured successor (none configured)" }),
        ...state.regions.filter((r) => r.id !== target && r.residency_group === home?.residency_group)
          .map((r) => el("option", { value: r.id, text: r.id })));
    }
    $("preview-result").replaceChildren();
    $("action-result").replaceChildren();
    $("confirm").disabled = true;
    $("action").scrollIntoView({ block: "nearest" });
    $("reason").focus();
  }
  function body() {
    const b = { reason: $("reason").value };
    if ($("force").checked) b.force = true;
    if (state.pending?.action === "promote" && $("promote-to").value) b.to = $("promote-to").value;
    return b;
  }
  function refusal(r) {
    const b = r.body || {};
    return el("div", { class: "refusal", role: "alert" },
      el("strong", { text: "Refused (" + r.status + " " + (b.rule || b.error || "") + "): " }),
      b.message || JSON.stringify(b));
  }
  $("action-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const p = state.pending;
    if (!p || !$("reason").value.trim()) { $("reason").reportValidity(); return; }
    const sent = body();
    const r = await api("POST", route(p.action, p.target) + "?dry_run=true", sent);
    $("action-result").replaceChildren();
    if (r.status !== 200) {
      $("preview-result").replaceChildren(refusal(r));
      $("confirm").disabled = true;
      return;
    }
    const table = el("table", { id: "preview-table" }, el("caption", { text: "Predicted once the change has run its course" }),
      el("thead", {}, el("tr", {},
      ...["region", "lifecycle", "predicted rps", "limit rps", "capacity rps", "utilisation"].map((h) => el("th", { scope: "col", text: h })))));
    const tbody = el("tbody");
    for (const x of r.body.predicted.regions) {
      tbody.append(el("tr", { class: x.predicted_load_rps > x.limit_rps + 1e-6 ? "over" : "" },
        el("td", { text: x.id }), el("td", { text: x.lifecycle.toLowerCase() }), el("td", { text: fmt(x.predicted_load_rps) }),
        el("td", { text: fmt(x.limit_rps) }), el("td", { text: fmt(x.capacity_rps) }),
        el("td", { text: Math.round(100 * x.predicted_utilisation) + "%" })));
    }
    table.append(tbody);
    const homes = (r.body.predicted.homes_moving || []).map((h) => el("p", { class: "homes-moving", text: "users homed in " + h.home
      + " move from " + h.from + " to " + h.to + (h.data_loss_risk ? "; data-loss risk: " + h.data_loss_risk : "") }));
    $("preview-result").replaceChildren(el("p", { text: "Dry run: " + $("action-what").textContent
      + " — nothing has changed yet. Shortfall after: " + fmt(r.body.predicted.shortfall_rps) + " rps." }), table, ...homes);
    state.pending.previewed = JSON.stringify(sent);
    $("confirm").disabled = false;
    $("confirm").focus();
  });
  // editing the reason, force or the successor after a preview means the preview no longer shows what would be sent
  for (const id of ["reason", "force", "promote-to"]) {
    $(id).addEventListener("input", () => { $("confirm").disabled = true; });
    $(id).addEventListener("change", () => { if (state.pending?.previewed !== JSON.stringify(body())) $("confirm").disabled = true; });
  }
  $("confirm").addEventListener("click", async () => {
    const p = state.pending;
    if (!p || p.previewed !== JSON.stringify(body())) return;
    $("confirm").disabled = true;
    const r = await api("POST", route(p.action, p.target), JSON.parse(p.previewed));
    $("action-result").replaceChildren(r.status === 200
      ? el("div", { class: "applied", text: "Applied: " + p.action + " " + p.target + " (revision " + r.body.revision + ")" })
      : refusal(r));
    $("action-result").focus();
    refreshRegions();
  });
  $("cancel").addEventListener("click", () => {
    const back = state.pending && document.querySelector("[data-action=" + state.pending.action + "][data-region='"
      + state.pending.target + "']");
    $("action").hidden = true;
    state.pending = null;
    (back || $("regions-title")).focus();
  });
  for (const a of ["freeze", "unfreeze"]) $(a).addEventListener("click", () => openAction(a, "automation"));

  // ---- why does this client get this region ----
  $("explain-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const client = $("explain-client").value.trim();
    if (!client) { $("explain-client").reportValidity(); return; }
    const r = await api("GET", "/v1/plan/explain?client=" + encodeURIComponent(client));
    const out = $("explain-result");
    const g = document.getElementById("map-explain");
    g?.replaceChildren();
    if (r.status !== 200) { out.replaceChildren(refusal(r)); return; }
    const x = r.body;
    const loc = x.location ? x.location.latitude.toFixed(2) + ", " + x.location.longitude.toFixed(2)
      + (x.location.country ? " " + x.location.country : "") + (x.location.continent ? " (" + x.location.continent + ")" : "")
      + " by " + x.location.source.toLowerCase().replace("_", " ") : "not located";
    const dns = el("ul", { id: "explain-dns" }, ...(x.dns.length ? x.dns.map((n) => el("li", { "data-name": n.name,
      "data-choice": n.choice || "" }, el("strong", { text: n.name + " → " + (n.choice || "no region") }), " — " + n.why))
      : [el("li", { text: "no geo names are configured (dns.zones)" })]));
    const http = el("p", { id: "explain-http", "data-read": x.http.read || "", "data-write": x.http.write || "" },
      el("strong", { text: "HTTP → " + (x.http.read || "no region") }), " — " + x.http.why);
    const cands = el("table", { id: "explain-candidates" }, el("caption", { text: "Regions, nearest first" }),
      el("thead", {}, el("tr", {}, ...["region", "km", "lifecycle", "share", "weight", "why"].map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, ...x.candidates.map((c) => el("tr", {}, el("td", { text: c.region }), el("td", { text: fmt(c.distance_km) }),
        el("td", { text: c.lifecycle.toLowerCase() }), el("td", { text: c.traffic_share.toFixed(2) }),
        el("td", { text: c.zone_weight == null ? "–" : c.zone_weight.toFixed(2) }), el("td", { text: c.why })))));
    out.replaceChildren(
      el("p", { id: "explain-summary", text: x.client + " (" + x.address + "/" + x.prefix + "): " + loc + " · zone " + x.zone
        + " · plan v" + x.plan_version + (x.note ? " · " + x.note : "") }),
      el("h3", { text: "DNS (per geo name)" }), dns, el("h3", { text: "HTTP (L7 proxy)" }), http, cands,
      x.planner.length ? el("pre", { class: "planner", text: x.planner.join("\n") }) : null);
    if (g && x.location) {
      const [zx, zy] = px(x.location.longitude, x.location.latitude);
      const to = state.regions.find((rr) => rr.id === x.http.read);
      if (to) g.append(svg("line", { x1: zx, y1: zy, x2: px(to.longitude, to.latitude)[0], y2: px(to.longitude, to.latitude)[1], class: "explain" }));
      g.append(svg("circle", { cx: zx, cy: zy, r: 1.8, class: "explain", id: "map-explain-client" }));
    }
  });

  $("login-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    signIn($("token").value.trim());
  });
  $("logout").addEventListener("click", () => signOut(""));
  if (state.token) signIn(state.token); else $("token").focus();
})();
