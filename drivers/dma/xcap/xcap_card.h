/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * The card's side of the slow path: bring-up (HW §7.5), channel reset and
 * quiesce (HW §3.5, §7.3), the latched counters (HW §2.4) and the words for
 * what the card reports. Nothing here knows dmadev: it works on a Bar and
 * a device name, so that every xcap driver can share it.
 */
#ifndef XCAP_CARD_H
#define XCAP_CARD_H

#include <cstddef>
#include <cstdint>

#include "xcap_internal.h"

namespace xcap {

/* What the card says it is (HW §2.1), read once at bring-up. */
struct CardCaps {
	unsigned n_copy = 0, n_capture = 0;
	unsigned addr_width = 0;
	unsigned max_ring_log2 = 0;
	unsigned max_sge = 0;
	unsigned nb_priorities = 0; /* ArbCaps.PrioLevels (HW §3.6), 0 if nonsense */
	uint32_t max_xfer = 0;
	uint32_t version = 0;
	uint32_t caps1 = 0;         /* opcodes implemented, bit (1 << opcode) */
	bool null_engine = false;
	bool implements(hw::Opcode op) const { return (caps1 >> unsigned(op)) & 1; }
};

/* HW §7.5, steps 1-6: identity, whole-card reset and the wait for Ready
 * (bounded by hw::kResetTimeoutMs), Fatal and version, the Scratch link
 * test, the capabilities, and a reset of every channel. 0, or a negative
 * errno with the reason logged under the device's name:
 * -ENODEV (not an xcap window, or it reads all-ones), -ETIMEDOUT (not Ready
 * in time), -EIO (Fatal, Scratch mismatch), -EINVAL (capabilities that make
 * no sense, a version this driver does not speak). */
int card_bring_up(const Bar &bar, const char *name, CardCaps &caps);

/* HW §3.5: Ctrl.Reset, then wait for the bit to clear. 0, -ENODEV (all-ones),
 * -ETIMEDOUT (logged). */
int channel_reset(const Bar &bar, const char *name, unsigned ch);

/* HW §7.3: after Ctrl.Enable was cleared, wait until the channel reports a
 * state other than Running/Halted with Busy clear, bounded by
 * hw::kQuiesceTimeoutMs. 0; -ETIMEDOUT (logged: the card may still write
 * the channel's rings and buffers); -ENODEV (all-ones). */
int channel_quiesce(const Bar &bar, const char *name, unsigned ch);

/* HW §2.4: one 64-bit channel counter (reg::ch::kCnt*Lo), Lo then Hi under
 * dev.reg_lock. The one function that reads a card counter. */
uint64_t read_counter(const Dev &dev, unsigned ch, uint32_t lo_reg);

/* Reads Id/Version and says in words what is wrong, or nullptr. */
const char *check_identity(const Bar &bar, char *buf, size_t len);
/* HW §2.5: GlobalStatus.Fatal and what the card logged about it, in words
 * (FatalCode, HostErrStatus, HostErrInfo), or nullptr when not Fatal. */
const char *check_fatal(const Bar &bar, char *buf, size_t len);

/* Words for a hw::Status value and a CH_STATUS register value. */
const char *status_name(uint32_t status);
const char *state_name(uint32_t ch_status);

} // namespace xcap

#endif /* XCAP_CARD_H */
