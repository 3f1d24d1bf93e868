// The SMS composer's counter: characters, encoding and parts as the text is typed, by the
// rules of mailing/sms/segments.py (GSM-7: 160 in one SMS, 153 per part, the extension
// characters taking two; UCS-2: 70 and 67, an emoji taking two), naming the character that
// forced Unicode. The number of recipients comes from the live count (audience-count.js).
(function () {
  var box = document.getElementById("sms-count");
  var field = document.querySelector("[data-sms-counter]");
  if (!box || !field) { return; }
  var BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡" +
              "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var EXTENSION = "^{}\\[~]|€\f";
  var SINGLE = {"GSM-7": 160, "UCS-2": 70};
  var PART = {"GSM-7": 153, "UCS-2": 67};
  var maxParts = parseInt(box.getAttribute("data-max-parts"), 10) || 6;

  function fill(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_, key) { return values[key]; });
  }
  function count(text) {
    var chars = Array.from(text);  // code points, as Python counts them
    var culprit = "";
    chars.some(function (c) {
      if (BASIC.indexOf(c) === -1 && EXTENSION.indexOf(c) === -1) { culprit = c; return true; }
      return false;
    });
    var encoding = culprit ? "UCS-2" : "GSM-7";
    var sizes = chars.map(function (c) {
      if (encoding === "GSM-7") { return EXTENSION.indexOf(c) !== -1 ? 2 : 1; }
      return c.codePointAt(0) > 0xFFFF ? 2 : 1;
    });
    var total = sizes.reduce(function (a, b) { return a + b; }, 0);
    var parts = total ? 1 : 0;
    if (total > SINGLE[encoding]) {
      var used = 0;
      sizes.forEach(function (size) {
        if (used + size > PART[encoding]) { parts += 1; used = 0; }
        used += size;
      });
    }
    return {encoding: encoding, characters: chars.length, parts: parts, culprit: culprit};
  }
  function render() {
    var text = field.value.replace(/\r\n/g, "\n").trim();
    var c = count(text);
    var per = c.parts > 1 ? PART[c.encoding] : SINGLE[c.encoding];
    var lines = [fill(box.getAttribute(c.parts > 1 ? "data-many" : "data-one"),
                      {characters: c.characters, encoding: c.encoding, parts: c.parts, per: per})];
    var figures = document.querySelector("#audience-count [data-messages]");
    if (figures && c.parts) {
      var messages = parseInt(figures.getAttribute("data-messages"), 10) || 0;
      lines[0] += " · " + fill(box.getAttribute("data-total"), {total: messages * c.parts});
    }
    if (c.culprit) {
      lines.push(fill(box.getAttribute("data-culprit"), {"char": c.culprit}));
    }
    if (c.parts > maxParts) { lines.push(fill(box.getAttribute("data-too-long"), {max: maxParts})); }
    box.textContent = "";
    lines.forEach(function (line, i) {
      var p = document.createElement(i ? "span" : "strong");
      p.textContent = line;
      if (i) { box.appendChild(document.createElement("br")); }
      box.appendChild(p);
    });
    box.setAttribute("data-encoding", c.encoding);
    box.setAttribute("data-parts", String(c.parts));
  }
  field.addEventListener("input", render);
  var counted = document.getElementById("audience-count");
  if (counted) { new MutationObserver(render).observe(counted, {childList: true, subtree: true}); }
  render();
})();
