/** Register-like state of one vCPU, opaque to the core (written into dumps and migration streams). */
export interface VcpuState {
  number: number;
  /** Named 64-bit registers, as decimal strings so they survive JSON. */
  regs: Record<string, string>;
}
