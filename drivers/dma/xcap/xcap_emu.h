/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * Test and tooling hook of the emulated card: reach the device model behind
 * an xcap emulated dmadev (fault injection, generator counters). Programs
 * that link the PMD statically (tests, apps) use it; nothing in the driver
 * core does.
 */
#ifndef XCAP_EMU_H
#define XCAP_EMU_H

#include <cstdint>

#include "xcap_model.h"

namespace xcap {

/* The model card behind dmadev dev_id, or nullptr if that device is not an
 * emulated xcap card. */
model::Card *emu_card(int16_t dev_id);

} // namespace xcap

#endif /* XCAP_EMU_H */
