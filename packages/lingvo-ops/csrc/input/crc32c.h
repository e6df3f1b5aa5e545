// CRC32C (Castagnoli) and the masked form TFRecord files store.
#ifndef LINGVO_OPS_INPUT_CRC32C_H_
#define LINGVO_OPS_INPUT_CRC32C_H_

#include <cstddef>
#include <cstdint>

namespace lingvo::ops::input {

// Extends `crc` (the CRC32C of some prefix, 0 for none) over `data[0, n)`.
// Uses the SSE4.2 crc32 instruction when the CPU has it, else slicing-by-8.
uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t n);

// The table-driven implementation alone, so tests can compare both paths.
uint32_t Crc32cExtendPortable(uint32_t crc, const void* data, size_t n);

// Whether Crc32cExtend uses the hardware instruction on this machine.
bool Crc32cUsesHardware();

inline uint32_t Crc32c(const void* data, size_t n) {
  return Crc32cExtend(0, data, n);
}

// TFRecord stores CRCs rotated and offset, because a CRC of data that itself
// holds CRCs is weak.
inline constexpr uint32_t kCrcMaskDelta = 0xA282EAD8u;

inline uint32_t MaskCrc(uint32_t crc) {
  return ((crc >> 15) | (crc << 17)) + kCrcMaskDelta;
}

inline uint32_t UnmaskCrc(uint32_t masked) {
  const uint32_t rot = masked - kCrcMaskDelta;
  return (rot >> 17) | (rot << 15);
}

}  // namespace lingvo::ops::input

#endif  // LINGVO_OPS_INPUT_CRC32C_H_
