// Our additions to the body editor. Merge variables ({{ eleve.prenom }}…) as chips in the body editor: an inline atom that the
// editor moves and deletes whole but never edits letter by letter, so a variable cannot be
// broken. Loaded by django-prose-editor's "configurable" preset (settings/editor.py); the
// "Insert a variable" menu of the compose and template pages calls insertVariable.
import { InputRule, Node, mergeAttributes } from "django-prose-editor/editor";

const NAME = /^[a-z_]+\.[a-z_]+$/;

export const MergeVariable = Node.create({
  name: "mergeVariable",
  group: "inline",
  inline: true,
  atom: true,
  selectable: true,
  draggable: false,

  addAttributes() {
    return {
      name: {
        default: "",
        parseHTML: (element) => element.getAttribute("data-variable"),
        renderHTML: (attributes) => ({ "data-variable": attributes.name }),
      },
    };
  },

  parseHTML() {
    // Only well-formed names: anything else pasted stays text, and the server reports it.
    return [{ tag: "span[data-variable]",
              getAttrs: (element) => NAME.test(element.getAttribute("data-variable") || "") && null }];
  },

  renderHTML({ node, HTMLAttributes }) {
    return ["span", mergeAttributes(HTMLAttributes, { class: "merge-variable" }),
            `{{ ${node.attrs.name} }}`];
  },

  renderText({ node }) {
    return `{{ ${node.attrs.name} }}`;
  },

  addInputRules() {
    // Typing {{ eleve.prenom }} by hand makes the chip too.
    const type = this.type;
    return [new InputRule({
      find: /\{\{\s*([a-z_]+\.[a-z_]+)\s*\}\}$/,
      handler: ({ state, range, match }) => {
        state.tr.replaceWith(range.from, range.to, type.create({ name: match[1] }));
      },
    })];
  },

  onCreate() {
    // Registered for body-editor.js (the variable menu, labels), whichever loads first.
    const wrapper = this.editor.view.dom.closest(".prose-editor");
    const textarea = wrapper && wrapper.querySelector("textarea");
    if (textarea) {
      (window.edukaEditors = window.edukaEditors || {})[textarea.id] = this.editor;
      document.dispatchEvent(new CustomEvent("eduka:editor", {
        detail: { editor: this.editor, textarea } }));
    }
  },

  addCommands() {
    return {
      insertVariable: (name) => ({ commands }) =>
        NAME.test(name) && commands.insertContent({ type: this.name, attrs: { name } }),
    };
  },
});

