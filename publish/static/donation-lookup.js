/* Donation lookup for the gongkai portal (donations.html).
 *
 * Reads data/donations/<receipt>.json from this same site and shows where the gift went.
 * No library, no inline script (the pages' Content-Security-Policy forbids it), nothing sent
 * anywhere: every text is set with textContent. From file:// (where browsers refuse fetch)
 * it opens the donation's own static page instead.
 */
(function () {
  "use strict";
  var form = document.getElementById("lookup");
  if (!form) { return; }
  var input = document.getElementById("receipt");
  var out = document.getElementById("lookup-result");
  var root = form.getAttribute("data-root") || "";
  var pages = form.getAttribute("data-pages") || "";
  var zh = (document.documentElement.lang || "zh").indexOf("zh") === 0;
  var CODE = /^[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}$/;

  function t(chinese, english) { return zh ? chinese : english; }

  function grouped(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ","); }

  function yuan(fen) {
    var sign = fen < 0 ? "-" : "";
    var a = Math.abs(fen);
    var cents = a % 100;
    return sign + "¥" + grouped(Math.floor(a / 100)) + "." + (cents < 10 ? "0" : "") + cents;
  }

  function wan(fen) {  // 万元 with two decimals, rounded half up (as the server does)
    var sign = fen < 0 ? "-" : "";
    var q = Math.floor((Math.abs(fen) + 5000) / 10000);
    var r = q % 100;
    return sign + Math.floor(q / 100) + "." + (r < 10 ? "0" : "") + r + "万元";
  }

  function money(fen) { return yuan(fen) + (zh ? "（" + wan(fen) + "）" : " (" + wan(fen) + ")"); }

  function what(e) {
    if (typeof e.amount_fen === "number") { return money(e.amount_fen); }
    return e.item + (e.grade ? "（" + e.grade + "）" : "") + " " + grouped(e.quantity) + " " + e.unit;
  }

  function account(a) { return a ? a.code + " " + a.name : ""; }

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    if (cls) { node.className = cls; }
    return node;
  }

  function table(caption, head, rows) {
    var tbl = el("table");
    tbl.appendChild(el("caption", caption));
    var tr = el("tr");
    head.forEach(function (h) { tr.appendChild(el("th", h)); });
    tbl.appendChild(el("thead")).appendChild(tr);
    var body = tbl.appendChild(el("tbody"));
    rows.forEach(function (cells) {
      var row = body.appendChild(el("tr"));
      cells.forEach(function (c) { row.appendChild(el("td", c)); });
    });
    return tbl;
  }

  function show(data, receipt) {
    out.textContent = "";
    var d = data.donation;
    var gift = typeof d.amount_fen === "number" ? money(d.amount_fen)
      : (d.goods || []).map(what).join("；");
    out.appendChild(el("h2", t("捐赠 ", "Donation ") + receipt));
    out.appendChild(el("p", d.date + " · " + d.donor_class_label + (d.donor_name ? " " + d.donor_name : "")
      + " · " + gift + " · " + (d.purpose_label ? t("定向：", "directed: ") + d.purpose_label : t("非定向", "undirected"))
      + " → " + account(d.account)));
    (d.corrections || []).forEach(function (n) {
      out.appendChild(el("p", t("更正说明", "Correction note") + "（" + n.date + "）：" + n.note, "correction"));
    });
    if (data.movements.length) {
      out.appendChild(table(t("拨付和调剂", "Allocations and transfers"), [t("日期", "Date"), t("从", "From"), t("到", "To"), t("金额", "Amount")],
        data.movements.map(function (m) { return [m.date, account(m.from), account(m.to), what(m)]; })));
    }
    if (data.disbursements.length) {
      out.appendChild(table(t("发放给受助群众", "Paid to recipients"), [t("项目", "Program"), t("村（社区）", "Village"), t("人数", "Recipients"), t("金额", "Amount")],
        data.disbursements.map(function (p) { return [account(p.program), p.village, p.recipients, money(p.amount_fen)]; })));
    }
    if (data.goods_issues.length) {
      out.appendChild(table(t("物资发放", "Goods issued"), [t("仓库", "Store"), t("物资", "Goods"), t("去向", "To"), t("批准人", "Approved by")],
        data.goods_issues.map(function (g) {
          return [account(g.store), what(g), g.institution || (g.recipients + t(" 名受助群众", " recipients")), g.approved_by.name || g.approved_by.key_id];
        })));
    }
    if (data.protected) {
      var hidden = [];
      if (data.protected.amount_fen) { hidden.push(money(data.protected.amount_fen)); }
      (data.protected.goods || []).forEach(function (g) { hidden.push(what(g)); });
      out.appendChild(el("p", t("受保护对象（依法不公开明细）：", "Protected recipients (details withheld): ") + hidden.join("；")));
    }
    out.appendChild(el("p", t("闲置：", "Idle: ") + (data.idle.length
      ? data.idle.map(function (i) { return account(i.account) + " " + what(i); }).join("；") : "—")));
    var link = el("a", t("完整页面", "Full page"));
    link.href = pages + "donations/" + encodeURIComponent(receipt) + ".html";
    out.appendChild(el("p")).appendChild(link);
  }

  function say(text) {
    out.textContent = "";
    out.appendChild(el("p", text, "error"));
  }

  function lookup(raw) {
    var receipt = (raw || "").trim();
    if (!CODE.test(receipt)) {
      say(t("收据号只含字母、数字、点、横线和下划线。", "A receipt number has only letters, digits, dots, dashes and underscores."));
      return;
    }
    if (window.location.protocol === "file:") {  // browsers refuse fetch from file://
      window.location.href = pages + "donations/" + encodeURIComponent(receipt) + ".html";
      return;
    }
    out.textContent = t("查询中…", "Looking up…");
    fetch(root + "data/donations/" + encodeURIComponent(receipt) + ".json", { credentials: "omit" })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(function (data) { show(data, receipt); })
      .catch(function () { say(t("没有找到收据号为 " + receipt + " 的捐赠。", "No donation with receipt number " + receipt + ".")); });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    lookup(input.value);
    if (window.history && window.history.replaceState && window.location.protocol !== "file:") {
      window.history.replaceState(null, "", "?receipt=" + encodeURIComponent(input.value.trim()));
    }
  });
  var asked = new URLSearchParams(window.location.search).get("receipt");
  if (asked) {
    input.value = asked;
    lookup(asked);
  }
}());
