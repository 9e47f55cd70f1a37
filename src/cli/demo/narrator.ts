// How `udrbd demo` talks: step headings, prose, the command lines as an administrator types
// them (with the node's name as prompt) and their real output, and the checks it makes.
// Colour only on a terminal (and never with NO_COLOR), so logs and tests get plain text.

export interface DemoOutput {
  write(s: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface CheckResult {
  ok: boolean;
  text: string;
}

const STYLE = {
  bold: '\x1b[1m',
  dim: '\x1b[2m',
  red: '\x1b[31m',
  green: '\x1b[32m',
  cyan: '\x1b[36m',
  reset: '\x1b[0m',
} as const;

export class Narrator {
  readonly checks: CheckResult[] = [];
  private readonly color: boolean;
  private step = 0;
  /** `#` as root, `$` otherwise, as a shell prompt would say. */
  private readonly prompt = process.geteuid?.() === 0 ? '#' : '$';

  constructor(
    readonly out: DemoOutput,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.color = out.isTTY === true && env.NO_COLOR === undefined;
  }

  get isTTY(): boolean {
    return this.out.isTTY === true;
  }

  get columns(): number {
    // A pseudo-terminal may report 0 columns (script(1), some CI runners).
    return this.out.columns || 80;
  }

  private paint(style: keyof typeof STYLE, s: string): string {
    return this.color ? `${STYLE[style]}${s}${STYLE.reset}` : s;
  }

  /** `== 2. Title ==`: one per step of the walkthrough. */
  heading(title: string): void {
    this.step++;
    this.out.write(`\n${this.paint('bold', `== ${this.step}. ${title} ==`)}\n\n`);
  }

  /** Prose; each string one paragraph line. */
  say(...lines: string[]): void {
    for (const l of lines) this.out.write(`${l}\n`);
    this.out.write('\n');
  }

  /** A command as typed on NODE: `alpha# drbdadm up r0`. */
  command(node: string, line: string): void {
    this.out.write(`${this.paint('cyan', `${node}${this.prompt}`)} ${this.paint('bold', line)}\n`);
  }

  /** A command's output, indented so it stands apart from the narration. */
  output(text: string): void {
    const body = text.replace(/\n+$/, '');
    if (body) this.out.write(body.split('\n').map((l) => ` ${l}`).join('\n') + '\n');
    this.out.write('\n');
  }

  /**
   * Records a check and prints it as ok or FAIL. `quiet` checks print only when they fail
   * (a command's success is already visible in its output).
   */
  check(ok: boolean, text: string, detail?: string, quiet = false): boolean {
    this.checks.push({ ok, text });
    if (ok && quiet) return ok;
    const mark = ok ? this.paint('green', 'ok  ') : this.paint('red', 'FAIL');
    this.out.write(`  [${mark}] ${text}${!ok && detail ? `\n         ${detail}` : ''}\n`);
    return ok;
  }

  /** Side remarks (cleanup progress, interruptions). */
  note(text: string): void {
    this.out.write(`${this.paint('dim', text)}\n`);
  }

  failed(): CheckResult[] {
    return this.checks.filter((c) => !c.ok);
  }
}
