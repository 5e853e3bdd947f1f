/**
 * `xvm completion bash|zsh|fish`, `xvm man [COMMAND]` and the internal `xvm __complete`, all
 * generated from the command definitions of every area (a plugin's commands included): they
 * build the full command line parser (src/cli/main.ts buildCli) and read its definitions.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Command, Option, type CommandClass, type Definition } from "clipanion";
import { selfCommand } from "../../runtime/self.ts";
import { XvmCommand } from "../base.ts";
import { commandDefs, complete, linkWord } from "./complete.ts";
import { manPage, overviewPage, pageName, pageWords } from "./man.ts";
import { SHELLS, completionScript, type Shell } from "./scripts.ts";

async function allDefinitions(): Promise<Definition[]> {
  const { buildCli } = await import("../main.ts");
  return (await buildCli()).definitions();
}

class CompletionCommand extends XvmCommand {
  static override paths = [["completion"]];
  static override usage = Command.Usage({
    description: "print a shell completion script (bash, zsh or fish)",
    details: `
      The script completes commands, options and operands: domain names (from the running xend) for
      xm, FMRIs and property names (from the repository) for svcs, svcadm, svccfg and svcprop; for
      \`xvm\` and for each link (\`xm\`, \`svcs\`…). It asks this binary for the candidates, so it
      follows the commands of the binary installed, a plugin's included.
    `,
    examples: [
      ["Use it in the running bash", "source <($0 completion bash)"],
      ["Install it for bash", "$0 completion bash > ~/.local/share/bash-completion/completions/xvm"],
      ["zsh", "$0 completion zsh > ~/.zfunc/_xvm"],
      ["fish", "$0 completion fish > ~/.config/fish/completions/xvm.fish"],
    ],
  });
  shell = Option.String({ required: true, name: "shell" });

  async execute(): Promise<number> {
    if (!(SHELLS as readonly string[]).includes(this.shell)) return this.fail(`no completion for '${this.shell}': choose one of ${SHELLS.join(", ")}`, 2);
    this.context.stdout.write(completionScript(this.shell as Shell, selfCommand()));
    return 0;
  }
}

class ManCommand extends XvmCommand {
  static override paths = [["man"]];
  static override usage = Command.Usage({
    description: "print a command's manual page (roff), or write them all into a folder",
    details: `
      \`xvm man xm\` prints the page of xm and its subcommands; \`xvm man\` alone prints xvm(1), the
      list of every command. \`--dir DIR\` writes every page into DIR (\`npm run build\` writes
      dist/man/). View one with \`man -l\`.
    `,
    examples: [
      ["Read xm's page", "$0 man xm | man -l -"],
      ["Write every page", "$0 man --dir /usr/local/share/man/man1"],
    ],
  });
  dir = Option.String("--dir", { description: "write every page (NAME.1) into this folder instead" });
  word = Option.String({ required: false, name: "command" });

  async execute(): Promise<number> {
    const defs = await allDefinitions();
    if (this.dir !== undefined) {
      const dir = resolve(this.dir);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "xvm.1"), overviewPage(defs));
      for (const word of pageWords(defs)) writeFileSync(join(dir, `${pageName(word)}.1`), manPage(defs, word)!);
      this.context.stdout.write(`${dir}: ${pageWords(defs).length + 1} pages\n`);
      return 0;
    }
    const page = this.word === undefined || this.word === "xvm" ? overviewPage(defs) : manPage(defs, this.word);
    if (page === undefined) return this.fail(`no manual page for '${this.word}' (have: ${pageWords(defs).join(", ")})`, 2);
    this.context.stdout.write(page);
    return 0;
  }
}

/** `xvm __complete -- PROGRAM WORD…`: the candidates for the last word, one per line. */
class CompleteCommand extends XvmCommand {
  static override paths = [["__complete"]];
  words = Option.Rest();

  async execute(): Promise<number> {
    const [program = "xvm", ...words] = this.words[0] === "--" ? this.words.slice(1) : this.words;
    const link = linkWord(program);
    const typed = link ? [link, ...words] : words;
    const found = await complete(commandDefs(await allDefinitions()), typed.length > 0 ? typed : [""]);
    if (found.length > 0) this.context.stdout.write(`${found.join("\n")}\n`);
    return 0;
  }
}

export const commands: CommandClass[] = [CompletionCommand, ManCommand, CompleteCommand];
