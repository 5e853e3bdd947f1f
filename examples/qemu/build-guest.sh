#!/usr/bin/env bash
# Builds the xvm test guest from Debian packages only: Debian's cloud kernel and an initramfs made
# of busybox-static, a small init and the kernel modules the qemu driver's devices need (virtio
# PCI, balloon, console, net, blk; pvpanic; ACPI button + evdev for the power button).
#
#   examples/qemu/build-guest.sh [DIR]      (default: $XVM_QEMU_GUEST_DIR, else ~/.cache/xvm/qemu-guest)
#
# Leaves DIR/vmlinuz and DIR/initrd.img (and DIR/kernel-package naming the kernel used). An existing
# complete build is kept (delete DIR, or pass --force first, to rebuild). Needs apt-get (a Debian or
# Ubuntu host with Debian's package lists), dpkg-deb, cpio-less busybox (the host's or the package's)
# and gzip; no root, nothing is installed on the host.
set -euo pipefail

force=0
if [ "${1:-}" = "--force" ]; then force=1; shift; fi
if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
out=${1:-${XVM_QEMU_GUEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/xvm/qemu-guest}}

if [ $force = 0 ] && [ -s "$out/vmlinuz" ] && [ -s "$out/initrd.img" ]; then
  echo "guest already built in $out"
  exit 0
fi
for tool in apt-get dpkg-deb gzip; do
  command -v "$tool" >/dev/null 2>&1 || { echo "build-guest: $tool is needed" >&2; exit 2; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
# apt-get download as root warns when _apt cannot write here; the download still works.
chmod 0755 "$work"

echo "build-guest: downloading linux-image-cloud-amd64 to find the kernel package"
apt-get download -q linux-image-cloud-amd64 2>&1 | grep -v '^W: Download is performed unsandboxed' || true
meta=$(ls linux-image-cloud-amd64_*.deb)
# The metapackage's Depends names the concrete kernel: "linux-image-6.1.0-57-cloud-amd64 (= …)".
kpkg=$(dpkg-deb -f "$meta" Depends | tr ',' '\n' | sed -n 's/^ *\(linux-image-[0-9][^ ]*\).*/\1/p' | head -n1)
[ -n "$kpkg" ] || { echo "build-guest: no kernel package in the Depends of $meta" >&2; exit 1; }
echo "build-guest: downloading $kpkg and busybox-static"
apt-get download -q "$kpkg" busybox-static 2>&1 | grep -v '^W: Download is performed unsandboxed' || true

mkdir kernel bb
dpkg-deb -x "$kpkg"_*.deb kernel
dpkg-deb -x busybox-static_*.deb bb
kver=$(ls kernel/lib/modules | head -n1)
bbin=bb/bin/busybox

root=initramfs
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,etc/acpi/PWRF,var/run,var/log,lib/modules,root}
cp "$bbin" "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
# Load order: each module after the ones it needs (modules.dep is not shipped unpacked).
modules="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_mmio
  virtio_balloon virtio_console failover net_failover virtio_net virtio_blk
  pvpanic pvpanic-mmio pvpanic-pci button evdev"
order=""
for m in $modules; do
  f=$(find "kernel/lib/modules/$kver" -name "$m.ko" | head -n1)
  if [ -n "$f" ]; then
    cp "$f" "$root/lib/modules/"
    order="$order $m"
  fi
done
echo "$order" > "$root/lib/modules/order"

cat > "$root/etc/acpi/PWRF/00000080" <<'EOF'
#!/bin/sh
# The ACPI power button (QMP system_powerdown, xm shutdown): power off cleanly.
echo "xvm-guest: power button, powering off"
sync
poweroff -f
EOF
chmod 0755 "$root/etc/acpi/PWRF/00000080"

cat > "$root/init" <<'EOF'
#!/bin/sh
# xvm test guest init: modules, power button, hot-added vCPUs online, a shell on the console.
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /lib/modules/order); do insmod /lib/modules/$m.ko 2>/dev/null; done
# xm sysrq c / xm trigger nmi reach the guest as an NMI: panic on it (pvpanic tells QEMU).
echo 1 > /proc/sys/kernel/unknown_nmi_panic
echo 1 > /proc/sys/kernel/sysrq
acpid -c /etc/acpi -l /var/log/acpid.log
# vCPUs hot-added by xm vcpu-set come up offline: bring them online.
( while :; do
    for c in /sys/devices/system/cpu/cpu[0-9]*/online; do
      [ -f "$c" ] && [ "$(cat "$c")" = 0 ] && echo 1 > "$c" && echo "xvm-guest: ${c%/online} online"
    done
    sleep 1
  done ) &
ip link set lo up
hostname xvm-guest
echo "xvm-guest: init ready ($(nproc) cpu, $(awk '/MemTotal/ {print $2}' /proc/meminfo) kB)"
while :; do
  setsid cttyhack sh -l
done
EOF
chmod 0755 "$root/init"
cat > "$root/etc/profile" <<'EOF'
PS1='xvm-guest# '
export PATH=/bin:/sbin
EOF

mkdir -p "$out"
( cd "$root" && find . | "$OLDPWD/$bbin" cpio -o -H newc 2>/dev/null | gzip -1 ) > "$out/initrd.img.tmp"
cp "$(ls kernel/boot/vmlinuz-*)" "$out/vmlinuz.tmp"
echo "$kpkg" > "$out/kernel-package"
mv "$out/vmlinuz.tmp" "$out/vmlinuz"
mv "$out/initrd.img.tmp" "$out/initrd.img"
echo "build-guest: $out/vmlinuz ($kpkg) and $out/initrd.img ($(du -k "$out/initrd.img" | cut -f1) KiB, modules:$order)"
