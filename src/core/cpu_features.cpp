#include "core/cpu_features.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#define MX_X86 1
#endif
#if defined(MX_X86) && defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace mx {

#ifdef MX_X86
namespace {
unsigned long long xgetbv0() {
  unsigned eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<unsigned long long>(edx) << 32) | eax;
}

// Linux hands out the AMX tile data state (8 KB a thread) only on request, once per
// process; the answer does not change, so it is asked once.
bool amx_permitted() {
#ifdef __linux__
  static const bool granted = [] {
    constexpr int kReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
    return syscall(SYS_arch_prctl, kReqXcompPerm, kXfeatureXtiledata) == 0;
  }();
  return granted;
#else
  return false;
#endif
}
}  // namespace
#endif

CpuFeatures CpuFeatures::detect() {
  CpuFeatures f;
#ifdef MX_X86
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = c & (1u << 27);
  const bool fma = c & (1u << 12);
  const bool f16c = c & (1u << 29);
  if (!osxsave) return f;
  const auto xcr0 = xgetbv0();
  const bool ymm_ok = (xcr0 & 0x6) == 0x6;
  const bool zmm_ok = (xcr0 & 0xe6) == 0xe6;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return f;
  f.avx2 = ymm_ok && fma && f16c && (b & (1u << 5));
  const bool avx512f = b & (1u << 16), avx512dq = b & (1u << 17);
  const bool avx512bw = b & (1u << 30), avx512vl = b & (1u << 31);
  f.avx512 = f.avx2 && zmm_ok && avx512f && avx512dq && avx512bw && avx512vl;
  f.avx512_vnni = f.avx512 && (c & (1u << 11));
  const bool amx_tile = d & (1u << 24), amx_int8 = d & (1u << 25);
  const bool tiles_ok = (xcr0 & 0x60000) == 0x60000;  // XTILECFG and XTILEDATA saved by the OS
  f.amx_int8 = f.avx512_vnni && amx_tile && amx_int8 && tiles_ok && amx_permitted();
  unsigned a1, b1, c1, d1;
  if (__get_cpuid_count(7, 1, &a1, &b1, &c1, &d1)) f.avx512_bf16 = f.avx512 && (a1 & (1u << 5));
#endif
  return f;
}

CpuFeatures CpuFeatures::limited_to(const std::string& isa) const {
  CpuFeatures f = *this;
  if (isa == "scalar") return CpuFeatures{};
  if (isa == "avx2") {
    f.avx512 = f.avx512_vnni = f.avx512_bf16 = f.amx_int8 = false;
  } else if (isa == "avx512") {
    f.avx512_vnni = f.avx512_bf16 = f.amx_int8 = false;
  } else if (isa == "avx512-vnni") {
    f.amx_int8 = false;
  }
  return f;
}

std::string CpuFeatures::describe() const {
  std::string s = "scalar";
  if (avx2) s += " avx2";
  if (avx512) s += " avx512";
  if (avx512_vnni) s += " avx512-vnni";
  if (avx512_bf16) s += " avx512-bf16";
  if (amx_int8) s += " amx-int8";
  return s;
}

}  // namespace mx
