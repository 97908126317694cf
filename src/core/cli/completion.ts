// Shell completion scripts made from the command manifest (every command's flags, src/core/cli/resolve.ts), so a
// new command or flag completes without anyone touching this file. Both shells walk the words typed so far the same
// way: from `crane` (or a multi-call name such as `ccon`) down the command words, skipping flags and the value of a
// flag that takes one; then they offer the flags of where they are (after a `-`), else its subcommands, else files.
import type { FlagDefLike } from "./argv.js";
import { MULTI_CALL_NAMES, ROOT_BIN, type CommandInfo, type Manifest } from "./resolve.js";

export const COMPLETION_SHELLS = ["bash", "zsh"] as const;
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

/** What completes at one point of the command tree, keyed `crane`, `crane:ccon`, `crane:ccon:run`. */
export interface CompletionNode {
  words: string[];
  flags: string[];
  /** The flags among `flags` that take a value (the next word is theirs). */
  valued: string[];
  /** Everything after the first positional argument belongs to the program being run (`ccon run IMAGE CMD...`). */
  stopAtFirstPositional: boolean;
}

/** The spellings of each flag: `--name`, its aliases, `--no-name`, `-c`. */
function flagWords(flags: Record<string, FlagDefLike> | undefined): { all: string[]; valued: string[] } {
  const all: string[] = [];
  const valued: string[] = [];
  for (const [name, f] of Object.entries(flags ?? {})) {
    const words = [name, ...(f.aliases ?? [])].map((n) => `--${n}`);
    for (const c of [f.char, ...(f.charAliases ?? [])]) if (c) words.push(`-${c}`);
    all.push(...words);
    if (f.type === "option") valued.push(...words);
    else if (f.allowNo) all.push(`--no-${name}`);
  }
  return { all, valued };
}

function addFlags(node: CompletionNode, flags: Record<string, FlagDefLike> | undefined): void {
  const { all, valued } = flagWords(flags);
  for (const w of all) if (!node.flags.includes(w)) node.flags.push(w);
  for (const w of valued) if (!node.valued.includes(w)) node.valued.push(w);
}

/** The command tree of a manifest, hidden commands left out. */
export function completionTree(manifest: Manifest): Map<string, CompletionNode> {
  const tree = new Map<string, CompletionNode>();
  const nodeAt = (key: string): CompletionNode => {
    let node = tree.get(key);
    if (!node) {
      node = { words: [], flags: ["--help"], valued: [], stopAtFirstPositional: false };
      tree.set(key, node);
    }
    return node;
  };
  nodeAt(ROOT_BIN).flags.push("--version");
  const visible = Object.entries(manifest.commands).filter(([, c]) => !c.hidden) as [string, CommandInfo][];
  for (const [id, info] of visible) {
    const words = id.split(":");
    words.forEach((word, i) => {
      const parent = nodeAt([ROOT_BIN, ...words.slice(0, i)].join(":"));
      if (!parent.words.includes(word)) parent.words.push(word);
    });
    const node = nodeAt([ROOT_BIN, ...words].join(":"));
    addFlags(node, info.baseFlags);
    addFlags(node, info.flags);
    node.stopAtFirstPositional = Boolean(info.stopAtFirstPositional);
    // Flags between a topic and its subcommand (`ccon -p CPU run`) belong to the topic's node.
    if (words.length > 1) addFlags(nodeAt([ROOT_BIN, ...words.slice(0, -1)].join(":")), info.topicFlags);
  }
  return tree;
}

/** An associative array literal, entries `[key]="a b c"` (the words hold no quotes or spaces). */
function table(name: string, tree: Map<string, CompletionNode>, pick: (n: CompletionNode) => string[], indent = "  "): string {
  const rows = [...tree].map(([key, node]) => [key, pick(node)] as const).filter(([, words]) => words.length > 0);
  return `${name}=(\n${rows.map(([key, words]) => `${indent}[${key}]=" ${words.join(" ")} "`).join("\n")}\n)`;
}

function tables(tree: Map<string, CompletionNode>): string {
  return [
    table("_crane_words", tree, (n) => n.words),
    table("_crane_flags", tree, (n) => n.flags),
    table("_crane_valued", tree, (n) => n.valued),
    table("_crane_stop", tree, (n) => (n.stopAtFirstPositional ? ["1"] : [])),
  ].join("\n");
}

const NAMES = [ROOT_BIN, ...MULTI_CALL_NAMES].join(" ");

function bashScript(tree: Map<string, CompletionNode>): string {
  return `# bash completion for crane, made by \`crane completion bash\`. Install:
#   crane completion bash > /etc/bash_completion.d/crane    (or: source <(crane completion bash) in ~/.bashrc)
declare -gA _crane_words _crane_flags _crane_valued _crane_stop
${tables(tree)}

_crane() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} cmd=${ROOT_BIN} name=\${COMP_WORDS[0]##*/} w i positional=0
  case " ${MULTI_CALL_NAMES.join(" ")} " in *" $name "*) cmd=${ROOT_BIN}:$name ;; esac
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=\${COMP_WORDS[i]}
    if [[ $w == -* ]]; then
      [[ $w != *=* && \${_crane_valued[$cmd]} == *" $w "* ]] && i=$((i + 1))
      continue
    fi
    if ((!positional)) && [[ \${_crane_words[$cmd]} == *" $w "* ]]; then
      cmd=$cmd:$w
      continue
    fi
    positional=1
    if [[ -n \${_crane_stop[$cmd]} ]]; then
      COMPREPLY=()
      return
    fi
  done
  COMPREPLY=()
  if ((COMP_CWORD > 1)) && [[ $prev == -* && $prev != *=* && \${_crane_valued[$cmd]} == *" $prev "* ]]; then
    return
  elif [[ $cur == -* ]]; then
    [[ $cur == *=* ]] && return
    mapfile -t COMPREPLY < <(compgen -W "\${_crane_flags[$cmd]}" -- "$cur")
  elif ((!positional)) && [[ -n \${_crane_words[$cmd]} ]]; then
    mapfile -t COMPREPLY < <(compgen -W "\${_crane_words[$cmd]}" -- "$cur")
  fi
}
complete -o default -F _crane ${NAMES}
`;
}

function zshScript(tree: Map<string, CompletionNode>): string {
  return `#compdef ${NAMES}
# zsh completion for crane, made by \`crane completion zsh\`. Install:
#   crane completion zsh > "\${fpath[1]}/_crane"    (or: source <(crane completion zsh) after compinit in ~/.zshrc)
typeset -gA _crane_words _crane_flags _crane_valued _crane_stop
${tables(tree)}

_crane() {
  local cur=\${words[CURRENT]} prev=\${words[CURRENT-1]} cmd=${ROOT_BIN} name=\${words[1]:t} w i positional=0
  case " ${MULTI_CALL_NAMES.join(" ")} " in (*" $name "*) cmd=${ROOT_BIN}:$name ;; esac
  for ((i = 2; i < CURRENT; i++)); do
    w=\${words[i]}
    if [[ $w == -* ]]; then
      [[ $w != *=* && \${_crane_valued[$cmd]} == *" $w "* ]] && i=$((i + 1))
      continue
    fi
    if ((!positional)) && [[ \${_crane_words[$cmd]} == *" $w "* ]]; then
      cmd=$cmd:$w
      continue
    fi
    positional=1
    if [[ -n \${_crane_stop[$cmd]} ]]; then
      _files
      return
    fi
  done
  if ((CURRENT > 2)) && [[ $prev == -* && $prev != *=* && \${_crane_valued[$cmd]} == *" $prev "* ]]; then
    _files
  elif [[ $cur == -* ]]; then
    [[ $cur == *=* ]] || compadd -- \${=_crane_flags[$cmd]}
  elif ((!positional)) && [[ -n \${_crane_words[$cmd]} ]]; then
    compadd -- \${=_crane_words[$cmd]}
  else
    _files
  fi
}

if [[ \${funcstack[1]} == _crane ]]; then
  _crane "$@"
else
  compdef _crane ${NAMES}
fi
`;
}

export function completionScript(shell: CompletionShell, manifest: Manifest): string {
  const tree = completionTree(manifest);
  return shell === "bash" ? bashScript(tree) : zshScript(tree);
}
