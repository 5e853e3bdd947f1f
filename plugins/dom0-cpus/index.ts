import { definePlugin } from "../../src/plugin/contract.ts";

export default definePlugin({
  name: "dom0-cpus",
  description: "Restricts the control domain (dom0) to a number of physical CPUs.",
  properties: {
    "dom0-cpus": {
      type: "integer",
      default: 0,
      min: 0,
      description: "Number of physical CPUs used for dom0's virtual CPUs; 0 places each virtual CPU on its own physical CPU where possible.",
    },
  },
  setup() {
    // Behaviour arrives with the host-resources issue.
  },
});
