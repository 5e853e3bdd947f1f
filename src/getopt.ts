/**
 * POSIX getopt(3C), as the SMF commands (svccfg, svcprop, svcs, svcadm) read their command lines:
 * options come before the operands, clustered or not (`-rst`); `--` or the first word that is not
 * an option (a lone `-` included) ends them; a letter followed by `:` in `optstring` takes the rest
 * of its word or else the next word as its argument.
 *
 * Unlike the C function this returns every option at once, then the operands, or the options read
 * before the first error with the message getopt prints for it. A caller that must act on each
 * option before the next is read (svcprop's exclusive flags) does so by walking `opts` in order
 * and only then looking at `error`.
 */

export interface Opt {
  c: string;
  arg?: string;
}

export interface GetoptError {
  /** The offending letter. */
  c: string;
  /** `c` is a known option whose argument is missing (otherwise it is not an option). */
  missingArgument: boolean;
  /** As getopt prints it: `prog: illegal option -- c\n`, `prog: option requires an argument -- c\n`. */
  message: string;
}

export interface Getopt {
  opts: Opt[];
  /** The words after the options; empty when there is an error. */
  operands: string[];
  error?: GetoptError;
}

export function getopt(args: readonly string[], optstring: string, prog: string): Getopt {
  const opts: Opt[] = [];
  const fail = (c: string, missingArgument: boolean): Getopt => ({
    opts,
    operands: [],
    error: {
      c,
      missingArgument,
      message: `${prog}: ${missingArgument ? "option requires an argument" : "illegal option"} -- ${c}\n`,
    },
  });
  let i = 0;
  for (; i < args.length; i++) {
    const word = args[i]!;
    if (word === "--") {
      i++;
      break;
    }
    if (!word.startsWith("-") || word === "-") break;
    // By code point, so that a letter outside the BMP is named whole in the message.
    for (let j = 1; j < word.length; ) {
      const c = String.fromCodePoint(word.codePointAt(j)!);
      j += c.length;
      const at = c === ":" ? -1 : optstring.indexOf(c);
      if (at < 0) return fail(c, false);
      if (optstring[at + c.length] !== ":") {
        opts.push({ c });
        continue;
      }
      let arg = word.slice(j);
      if (arg === "") {
        if (i + 1 >= args.length) return fail(c, true);
        arg = args[++i]!;
      }
      opts.push({ c, arg });
      break;
    }
  }
  return { opts, operands: args.slice(i) };
}
