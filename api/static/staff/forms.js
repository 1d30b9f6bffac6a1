// The record forms, the draft form and the inbox's buttons: each signs one command in this
// browser (formkit.js builds the body from the form; sign.js prepares, checks and signs it).

import { addLines, bodyOf, toggles, wire } from './formkit.js';
import { hex } from './bytes.js';

// Per form: adjust the body, put personal data in a sealed part, add follow-up commands.
const HOOKS = {
  donation(body) {
    if (!body.consent && body.donor_name) {
      // Without the donor's consent the name is sealed (encrypted, never public).
      const name = body.donor_name;
      delete body.donor_name;
      return { sealed: { subject: `donor:${body.receipt_no}`, data: { donor_name: name } } };
    }
    return {};
  },
  allocation(body, form) {
    if (body.purpose === '_auto') {
      // As the CLI does: draw money directed to the program's category when the fund holds enough.
      delete body.purpose;
      const buckets = JSON.parse(form.elements.fund.selectedOptions[0].dataset.buckets || '{}');
      const category = form.elements.program.selectedOptions[0].dataset.category;
      if (category && (buckets[category] || 0) >= body.amount) body.purpose = category;
    }
    return {};
  },
  disbursement(body) {
    if (body.protected) {
      // A protected recipient is never singled out in public: who was paid goes sealed.
      const recipient = body.recipient;
      delete body.recipient;
      delete body.village;
      return { sealed: { subject: recipient, data: { recipient } } };
    }
    return {};
  },
  async draft(body, form) {
    if (body.content.type === 'document') {
      body.content.files = [];
      for (const file of form.elements._files.files) {
        const digest = await crypto.subtle.digest('SHA-256', await file.arrayBuffer());
        body.content.files.push({ name: file.name, sha256: hex(digest), size: file.size });
      }
    }
    const after = form.elements._submit_now.checked
      ? [{ cmd: 'disclosure.submit', body: { item_no: body.item_no, date: body.date } }] : [];
    return { after };
  },
};

for (const form of document.querySelectorAll('form.signed[data-cmd]')) {
  const reset = toggles(form);
  addLines(form);
  const hook = HOOKS[form.dataset.form] || (() => ({}));
  const step = form.classList.contains('step');
  wire(form, async (f) => {
    const body = bodyOf(f);
    const extra = await hook(body, f);
    return { cmd: f.dataset.cmd, body, ...extra };
  }, {
    done(f) {
      if (step) {
        window.setTimeout(() => window.location.reload(), 600); // the inbox moves on
      } else {
        const day = f.elements.date ? f.elements.date.value : null;
        f.reset();
        if (day) f.elements.date.value = day;
        reset();
      }
    },
  });
}
