// PrivateText: the text-bearing part of the rtwidgets forms (instructions, tools JSON, tool
// arguments and outputs, SIP headers). The text never lives in a synced trait while the
// model is private: the kernel pushes it with {kind:"set"} custom messages and the browser
// sends edits back with {kind:"edit"}. A view that renders late asks for a snapshot.
// Everything here is plain DOM and JupyterLab CSS variables, so JupyterLab 4 and
// Notebook 7 render it alike, in light and dark themes.

const TRAITS = ["description", "rows", "disabled", "placeholder", "invalid"];

function newViewId() {
  return "v" + Math.random().toString(36).slice(2) + Date.now().toString(36);
}

function render({ model, el }) {
  const viewId = newViewId();
  const mode = model.get("mode");
  const wrap = document.createElement("div");
  wrap.className = "rtw-private";
  const label = document.createElement("div");
  label.className = "rtw-private-label";
  let node;
  if (mode === "view") {
    node = document.createElement("pre");
  } else if (mode === "line") {
    node = document.createElement("input");
    node.type = "text";
    node.spellcheck = false;
  } else {
    node = document.createElement("textarea");
    node.spellcheck = false;
  }
  node.className = "rtw-private-" + mode;
  wrap.appendChild(label);
  wrap.appendChild(node);
  el.appendChild(wrap);

  // The text this view shows; for inputs it may run ahead of the kernel until flushed.
  let timer = null;

  function setText(text) {
    if (mode === "view") {
      node.textContent = text;
    } else if (node.value !== text) {
      node.value = text;
    }
  }

  function syncTraits() {
    label.textContent = model.get("description") || "";
    label.style.display = label.textContent ? "" : "none";
    if (mode === "text") {
      node.rows = model.get("rows");
    }
    if (mode !== "view") {
      node.disabled = !!model.get("disabled");
      node.placeholder = model.get("placeholder") || "";
    }
    wrap.classList.toggle("rtw-invalid", !!model.get("invalid"));
  }

  function flush() {
    if (timer !== null) {
      clearTimeout(timer);
      timer = null;
    }
    model.send({ kind: "edit", text: node.value, view: viewId });
  }

  function onInput() {
    if (timer !== null) {
      clearTimeout(timer);
    }
    timer = setTimeout(flush, 200);
  }

  function onMsg(msg) {
    if (!msg || msg.kind !== "set") {
      return;
    }
    if (msg.origin === viewId) {
      return; // our own edit, relayed to the other views
    }
    if (msg.for && msg.for !== viewId) {
      return; // a snapshot another view asked for
    }
    setText(typeof msg.text === "string" ? msg.text : "");
  }

  syncTraits();
  // Non-private models carry the text in `value` (also what a saved notebook shows).
  setText(model.get("value") || "");
  if (mode !== "view") {
    node.addEventListener("input", onInput);
    // `change` fires on blur, i.e. before a click on a form button reaches the kernel.
    node.addEventListener("change", flush);
  }
  model.on("msg:custom", onMsg);
  for (const name of TRAITS) {
    model.on("change:" + name, syncTraits);
  }
  model.send({ kind: "snapshot", view: viewId });

  return () => {
    if (timer !== null) {
      clearTimeout(timer);
      flush();
    }
    model.off("msg:custom", onMsg);
    for (const name of TRAITS) {
      model.off("change:" + name, syncTraits);
    }
  };
}

export default { render };
