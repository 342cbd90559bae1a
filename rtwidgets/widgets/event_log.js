// EventLog front end (anywidget ESM). Holds at most model.max_rows rows; the full record stays
// in Python. Every content change arrives as a custom message; this file never reads content
// from traits. Stable hooks for tests: .rtw-eventlog, .rtw-row, .rtw-row-expanded,
// .rtw-row-error, .rtw-detail, .rtw-counts, .rtw-search, .rtw-pause, .rtw-follow,
// .rtw-chip (data-cat / data-type, data-state = "" | "include" | "exclude"), .rtw-clear,
// .rtw-chip-legend. The one event count is the kernel's `label` ("28 events" /
// "5 of 28 events shown"); long event names arrive cut in the middle as `short`.

const ARROW = { in: "←", out: "→", meta: "•" };

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function render({ model, el: root }) {
  const box = el("div", "rtw-eventlog");
  box.dataset.testid = "rtw-eventlog";
  root.appendChild(box);

  // toolbar: search, pause, follow, counts
  const bar = el("div", "rtw-toolbar");
  const search = el("input", "rtw-search");
  search.type = "search";
  search.placeholder = "search type, summary, ids";
  search.setAttribute("aria-label", "search events");
  const pause = el("button", "rtw-pause", "Pause");
  pause.type = "button";
  const followLabel = el("label", "rtw-follow-label");
  const follow = el("input", "rtw-follow");
  follow.type = "checkbox";
  follow.checked = true;
  followLabel.append(follow, document.createTextNode(" follow"));
  const counts = el("span", "rtw-counts", "");
  counts.dataset.testid = "rtw-counts";
  const clear = el("button", "rtw-clear", "Clear");
  clear.type = "button";
  clear.title = "Show every event: drop the chip filters and the search";
  clear.hidden = true;
  bar.append(search, pause, followLabel, clear, counts);

  const cats = el("div", "rtw-chips rtw-cats");
  const legend = el("span", "rtw-chip-legend", "click: include → exclude → off");
  legend.title = "A chip cycles: include (only these kinds are listed), exclude (these are " +
    "hidden), off. Clear drops every filter.";
  const typesBox = el("details", "rtw-types");
  typesBox.append(el("summary", "", "types"));
  const types = el("div", "rtw-chips");
  typesBox.appendChild(types);

  const list = el("div", "rtw-rows");
  list.setAttribute("role", "log");
  box.append(bar, cats, typesBox, list);

  const rows = new Map(); // row id -> element
  let filter = { include: [], exclude: [], include_types: [], exclude_types: [], search: "" };
  let paused = false;

  function maxRows() {
    return model.get("max_rows") || 2000;
  }

  function fill(node, r) {
    node.classList.toggle("rtw-row-error", !!r.err);
    node.dataset.dir = r.dir;
    node.dataset.type = r.type;
    node.dataset.cat = r.cat;
    node.dataset.seq = r.seq;
    const head = node.firstChild;
    head.querySelector(".rtw-dir").textContent = ARROW[r.dir] || r.dir;
    head.querySelector(".rtw-ms").textContent = r.ms + " ms";
    const type = head.querySelector(".rtw-type");
    type.textContent = r.short || r.type;
    type.title = r.type;
    head.querySelector(".rtw-n").textContent = r.n > 1 ? "×" + r.n : "";
    head.querySelector(".rtw-sum").textContent = r.sum || "";
    const link = head.querySelector(".rtw-link");
    if (r.link !== undefined && r.link !== null) {
      link.textContent = "↳ answers " + (r.link_type || "#" + r.link);
      link.dataset.target = r.link;
      link.hidden = false;
    } else {
      link.hidden = true;
    }
  }

  function makeRow(r) {
    const node = el("div", "rtw-row");
    node.dataset.testid = "rtw-row";
    node.dataset.row = r.id;
    const head = el("div", "rtw-row-head");
    head.append(
      el("span", "rtw-dir"), el("span", "rtw-ms"), el("span", "rtw-type"),
      el("span", "rtw-n"), el("span", "rtw-sum"), el("a", "rtw-link"),
    );
    node.appendChild(head);
    fill(node, r);
    return node;
  }

  function trim() {
    const limit = maxRows();
    while (rows.size > limit) {
      const first = rows.keys().next().value;
      rows.get(first).remove();
      rows.delete(first);
    }
  }

  function atBottom() {
    return list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  }

  function append(batch) {
    const stick = follow.checked && atBottom();
    const frag = document.createDocumentFragment();
    for (const r of batch) {
      const node = makeRow(r);
      rows.set(r.id, node);
      frag.appendChild(node);
    }
    list.appendChild(frag);
    trim();
    if (stick || follow.checked) list.scrollTop = list.scrollHeight;
  }

  function showCounts(msg) {
    const label = msg.label || `${msg.events} events`;
    counts.textContent = label + (paused ? " · paused" : "");
  }

  const NEXT = {
    "": (n) => `off — click to show only ${n} (include)`,
    include: (n) => `included: only the included kinds are listed — click to hide ${n} (exclude)`,
    exclude: (n) => `excluded: ${n} is hidden — click to turn this filter off`,
  };
  const MARK = { "": "", include: "✓ ", exclude: "✕ " };

  function chip(container, label, state, data) {
    const c = el("button", "rtw-chip", MARK[state] + label);
    c.type = "button";
    Object.assign(c.dataset, data);
    c.dataset.state = state;
    c.title = NEXT[state](label);
    c.setAttribute("aria-pressed", state === "" ? "false" : "true");
    container.appendChild(c);
    return c;
  }

  function filtered() {
    return filter.include.length + filter.exclude.length + filter.include_types.length +
      filter.exclude_types.length > 0 || !!(filter.search || "").trim();
  }

  function stateOf(name, inc, exc) {
    if (inc.includes(name)) return "include";
    if (exc.includes(name)) return "exclude";
    return "";
  }

  function drawChips(categories, typeList) {
    if (categories) {
      cats.replaceChildren();
      for (const c of categories) {
        chip(cats, c, stateOf(c, filter.include, filter.exclude), { cat: c });
      }
      cats.appendChild(legend);
    }
    clear.hidden = !filtered();
    if (typeList) {
      types.replaceChildren();
      for (const t of typeList) {
        chip(types, t, stateOf(t, filter.include_types, filter.exclude_types), { type: t });
      }
    }
  }

  function sendFilter() {
    clear.hidden = !filtered();
    model.send({ kind: "filter", ...filter });
  }

  function onClear() {
    clearTimeout(searchTimer);
    filter = { include: [], exclude: [], include_types: [], exclude_types: [], search: "" };
    search.value = "";
    sendFilter();
  }

  function cycle(name, incKey, excKey) {
    const inc = filter[incKey];
    const exc = filter[excKey];
    if (inc.includes(name)) {
      filter[incKey] = inc.filter((x) => x !== name);
      filter[excKey] = [...exc, name];
    } else if (exc.includes(name)) {
      filter[excKey] = exc.filter((x) => x !== name);
    } else {
      filter[incKey] = [...inc, name];
    }
    sendFilter();
  }

  function onChip(ev) {
    const c = ev.target.closest(".rtw-chip");
    if (!c) return;
    if (c.dataset.cat) cycle(c.dataset.cat, "include", "exclude");
    else if (c.dataset.type) cycle(c.dataset.type, "include_types", "exclude_types");
  }

  function onRowClick(ev) {
    const link = ev.target.closest(".rtw-link");
    if (link) {
      ev.preventDefault();
      const target = rows.get(Number(link.dataset.target));
      if (target) {
        target.scrollIntoView({ block: "center" });
        target.classList.add("rtw-row-flash");
        setTimeout(() => target.classList.remove("rtw-row-flash"), 1200);
      }
      return;
    }
    const node = ev.target.closest(".rtw-row");
    if (!node || ev.target.closest(".rtw-detail")) return;
    const expanded = node.classList.toggle("rtw-row-expanded");
    let detail = node.querySelector(".rtw-detail");
    if (!expanded) {
      if (detail) detail.remove();
      return;
    }
    if (!detail) {
      detail = el("pre", "rtw-detail", "loading…");
      detail.dataset.testid = "rtw-detail";
      node.appendChild(detail);
    }
    model.send({ kind: "detail_request", row: Number(node.dataset.row) });
  }

  function onMessage(msg) {
    if (!msg || typeof msg !== "object") return;
    switch (msg.kind) {
      case "snapshot":
        list.replaceChildren();
        rows.clear();
        if (msg.filter) filter = msg.filter;
        paused = !!msg.paused;
        pause.textContent = paused ? "Resume" : "Pause";
        if (search.value.trim().toLowerCase() !== filter.search) {
          clearTimeout(searchTimer); // a new call's snapshot wins over a pending search
          search.value = filter.search;
        }
        drawChips(msg.categories, msg.types);
        append(msg.rows || []);
        showCounts(msg);
        break;
      case "batch":
        append(msg.rows || []);
        for (const r of msg.updates || []) {
          const node = rows.get(r.id);
          if (node) fill(node, r);
        }
        if (msg.types) drawChips(null, msg.types);
        showCounts(msg);
        break;
      case "counts":
        showCounts(msg);
        break;
      case "detail": {
        const node = rows.get(msg.row);
        const detail = node && node.querySelector(".rtw-detail");
        if (detail) {
          let text = msg.json;
          if (msg.count > 1) {
            text = `first of ${msg.count} folded events (seq ${msg.seq}):\n${msg.json}` +
              `\n\nlast (seq ${msg.last_seq}):\n${msg.last_json}`;
          }
          detail.textContent = text;
        }
        break;
      }
      case "error":
        counts.textContent = msg.message;
        break;
      default:
        break;
    }
  }

  let searchTimer = null;
  function onSearch() {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      filter.search = search.value;
      sendFilter();
    }, 250);
  }
  function onPause() {
    paused = !paused;
    pause.textContent = paused ? "Resume" : "Pause";
    model.send({ kind: "pause", paused });
  }

  cats.addEventListener("click", onChip);
  types.addEventListener("click", onChip);
  list.addEventListener("click", onRowClick);
  search.addEventListener("input", onSearch);
  pause.addEventListener("click", onPause);
  clear.addEventListener("click", onClear);
  model.on("msg:custom", onMessage);
  // A view rendered late (re-display, reload) missed earlier messages: ask for the window.
  model.send({ kind: "snapshot_request" });

  return () => {
    clearTimeout(searchTimer);
    clear.removeEventListener("click", onClear);
    model.off("msg:custom", onMessage);
  };
}

export default { render };
