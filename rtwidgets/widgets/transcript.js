// Transcript front end (anywidget ESM): items upserted in place, at most model.max_rows kept.
// Content arrives only in custom messages. Stable hooks: .rtw-transcript, .rtw-item
// (data-role, data-kind, data-item), .rtw-item-text, .rtw-interrupted, .rtw-truncated,
// .rtw-tool, .rtw-tool-output, .rtw-deleted.

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function render({ model, el: root }) {
  const box = el("div", "rtw-transcript");
  box.dataset.testid = "rtw-transcript";
  const empty = el("div", "rtw-empty", "no conversation yet");
  const list = el("div", "rtw-items");
  list.setAttribute("role", "log");
  box.append(empty, list);
  root.appendChild(box);
  const items = new Map(); // item id -> element

  function label(it) {
    if (it.kind === "function_call") return "tool call";
    if (it.kind === "function_call_output") return "tool output";
    return it.role || it.kind;
  }

  function fill(node, it) {
    node.dataset.role = it.role || "";
    node.dataset.kind = it.kind;
    node.classList.toggle("rtw-interrupted", !!it.interrupted);
    node.classList.toggle("rtw-truncated", it.truncated_ms !== undefined);
    node.classList.toggle("rtw-deleted", !!it.deleted);
    // an output already shown under its call is not repeated as its own item
    node.classList.toggle("rtw-item-inline", !!it.inline);
    node.classList.toggle("rtw-in-progress", it.status === "in_progress");
    node.replaceChildren();
    const head = el("div", "rtw-item-head");
    head.append(el("span", "rtw-who", label(it)));
    const marks = [];
    if (it.interrupted) marks.push("interrupted");
    if (it.truncated_ms !== undefined) marks.push(`truncated at ${it.truncated_ms} ms`);
    if (it.deleted) marks.push("deleted");
    if (it.status === "in_progress") marks.push("…");
    if (marks.length) head.append(el("span", "rtw-marks", marks.join(" · ")));
    node.append(head);
    if (it.kind === "function_call" || it.kind === "function_call_output") {
      const tool = el("div", "rtw-tool");
      const name = it.name ? it.name : it.call_id || "";
      if (it.kind === "function_call") {
        tool.append(el("code", "rtw-tool-call", `${name}(${it.arguments || ""})`));
        if (it.tool_status) {
          // the reducer's status: pending, answered, or unanswered (the call ended first)
          const text = it.tool_status === "answered" && it.answered_by
            ? `answered by ${it.answered_by}`
            : it.tool_status === "unanswered" ? "unanswered — call ended" : it.tool_status;
          const badge = el("span", "rtw-badge rtw-badge-" + it.tool_status, text);
          tool.append(badge);
        }
      }
      if (it.output !== null && it.output !== undefined) {
        tool.append(el("div", "rtw-tool-output", "→ " + it.output));
      }
      node.append(tool);
    } else {
      node.append(el("div", "rtw-item-text", it.text || ""));
    }
  }

  function upsert(it) {
    let node = items.get(it.id);
    if (!node) {
      node = el("div", "rtw-item");
      node.dataset.testid = "rtw-item";
      node.dataset.item = it.id;
      items.set(it.id, node);
      const prev = it.prev && items.get(it.prev);
      if (prev && prev.nextSibling) list.insertBefore(node, prev.nextSibling);
      else list.appendChild(node);
    }
    fill(node, it);
  }

  function trim() {
    const limit = model.get("max_rows") || 2000;
    while (items.size > limit) {
      const first = list.firstChild;
      if (!first) break;
      items.delete(first.dataset.item);
      first.remove();
    }
  }

  function onMessage(msg) {
    if (!msg || typeof msg !== "object") return;
    const stick = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    if (msg.kind === "snapshot") {
      list.replaceChildren();
      items.clear();
    } else if (msg.kind !== "batch") {
      return;
    }
    for (const it of msg.items || []) upsert(it);
    trim();
    empty.hidden = items.size > 0;
    if (stick) box.scrollTop = box.scrollHeight;
  }

  model.on("msg:custom", onMessage);
  model.send({ kind: "snapshot_request" });
  return () => model.off("msg:custom", onMessage);
}

export default { render };
