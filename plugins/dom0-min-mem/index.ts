import { definePlugin } from "../../src/plugin/contract.ts";

export default definePlugin({
  name: "dom0-min-mem",
  description: "Balloons dom0 down to make room for guests, never below a minimum.",
  properties: {
    "dom0-min-mem": {
      type: "integer",
      default: 196,
      min: 0,
      description: "Minimum memory guaranteed to the control domain (dom0), in MB.",
    },
  },
  setup() {
    // Behaviour arrives with the host-resources issue.
  },
});
