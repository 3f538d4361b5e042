/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * Emulated IOMMU (HW §9): immutable translation tables published with a
 * generation number; readers cache the table and the last segment hit.
 */
#include <algorithm>
#include <cerrno>
#include <stdexcept>

#include "xcap_model.h"

namespace xcap::model {

namespace {
/* Process-wide, so a generation identifies one table of one Iommu: a reader
 * cache keyed by generation can never confuse two Iommus. Starts at 1; 0
 * means "no table". */
std::atomic<uint64_t> g_next_generation{1};
} // namespace

struct Iommu::Table {
	std::vector<IommuRange> segs; /* sorted, disjoint, IOVA+VA-contiguous runs */
	uint64_t gen = 0;

	/* The segment holding all of [iova, iova+len), or nullptr.
	 * hint: index of the segment that hit last time; updated on a hit. */
	const IommuRange *find_seg(uint64_t iova, uint64_t len, size_t &hint) const
	{
		if (len == 0)
			len = 1;
		const uint64_t last = iova + (len - 1);
		if (last < iova)
			return nullptr; /* wraps */
		if (hint < segs.size()) {
			const IommuRange &s = segs[hint];
			if (iova >= s.iova && last <= s.iova + (s.len - 1))
				return &s;
		}
		auto it = std::upper_bound(segs.begin(), segs.end(), iova,
			[](uint64_t a, const IommuRange &r) { return a < r.iova; });
		if (it == segs.begin())
			return nullptr;
		--it;
		if (last > it->iova + (it->len - 1))
			return nullptr;
		hint = size_t(it - segs.begin());
		return &*it;
	}
	uint8_t *find(uint64_t iova, uint64_t len, size_t &hint) const
	{
		const IommuRange *s = find_seg(iova, len, hint);
		return s ? s->va + (iova - s->iova) : nullptr;
	}
};

Iommu::Iommu(unsigned addr_width_bits) : addr_width_(addr_width_bits)
{
	if (addr_width_bits < 1 || addr_width_bits > 64)
		throw std::invalid_argument("xcap Iommu: address width must be 1..64 bits");
	std::lock_guard<std::mutex> g(update_lock_);
	publish(std::make_shared<Table>());
}

Iommu::~Iommu() = default;

void Iommu::publish(std::shared_ptr<Table> t)
{
	t->gen = g_next_generation.fetch_add(1, std::memory_order_relaxed);
	table_ = std::move(t);
	/* Readers that see the new generation take the mutex to read table_,
	 * which orders them after this assignment. */
	gen_.store(table_->gen, std::memory_order_release);
}

std::shared_ptr<const Iommu::Table> Iommu::snapshot() const
{
	std::lock_guard<std::mutex> g(update_lock_);
	return table_;
}

int Iommu::map(uint64_t iova, uint64_t len, void *va)
{
	if (len == 0 || iova == 0 || va == nullptr)
		return -EINVAL;
	const uint64_t last = iova + (len - 1);
	if (last < iova)
		return -EINVAL;
	if (addr_width_ < 64 && (last >> addr_width_) != 0)
		return -EINVAL;
	/* the VA range must not wrap either */
	if (reinterpret_cast<uintptr_t>(va) + (len - 1) < reinterpret_cast<uintptr_t>(va))
		return -EINVAL;

	std::lock_guard<std::mutex> g(update_lock_);
	auto it = maps_.upper_bound(iova);
	if (it != maps_.end() && it->second.iova <= last)
		return -EEXIST;
	if (it != maps_.begin()) {
		const IommuRange &p = std::prev(it)->second;
		if (p.iova + (p.len - 1) >= iova)
			return -EEXIST;
	}
	const IommuRange r{iova, len, static_cast<uint8_t *>(va)};
	maps_.emplace_hint(it, iova, r);

	/* new segment list: insert r, merging with the neighbours it continues */
	const auto &old = table_->segs;
	auto pos = std::upper_bound(old.begin(), old.end(), iova,
		[](uint64_t a, const IommuRange &s) { return a < s.iova; });
	auto t = std::make_shared<Table>();
	t->segs.reserve(old.size() + 1);
	t->segs.assign(old.begin(), pos);
	IommuRange m = r;
	if (!t->segs.empty()) {
		const IommuRange &p = t->segs.back();
		if (p.iova + p.len == m.iova && p.va + p.len == m.va) {
			m = {p.iova, p.len + m.len, p.va};
			t->segs.pop_back();
		}
	}
	if (pos != old.end() && m.iova + m.len == pos->iova && m.va + m.len == pos->va) {
		m.len += pos->len;
		++pos;
	}
	t->segs.push_back(m);
	t->segs.insert(t->segs.end(), pos, old.end());
	publish(std::move(t));
	return 0;
}

int Iommu::unmap(uint64_t iova, uint64_t len)
{
	std::lock_guard<std::mutex> g(update_lock_);
	auto it = maps_.find(iova);
	if (it == maps_.end() || it->second.len != len)
		return -ENOENT;
	const IommuRange r = it->second;
	maps_.erase(it);

	/* the segment holding r splits into what is left on either side */
	const auto &old = table_->segs;
	auto pos = std::upper_bound(old.begin(), old.end(), iova,
		[](uint64_t a, const IommuRange &s) { return a < s.iova; });
	--pos; /* exists: every mapping lies inside one segment */
	auto t = std::make_shared<Table>();
	t->segs.reserve(old.size() + 1);
	t->segs.assign(old.begin(), pos);
	if (pos->iova < r.iova)
		t->segs.push_back({pos->iova, r.iova - pos->iova, pos->va});
	const uint64_t seg_end = pos->iova + (pos->len - 1), r_end = r.iova + (r.len - 1);
	if (seg_end > r_end)
		t->segs.push_back({r_end + 1, seg_end - r_end, pos->va + (r_end + 1 - pos->iova)});
	t->segs.insert(t->segs.end(), pos + 1, old.end());
	publish(std::move(t));
	return 0;
}

void Iommu::clear()
{
	std::lock_guard<std::mutex> g(update_lock_);
	maps_.clear();
	publish(std::make_shared<Table>());
}

size_t Iommu::ranges() const
{
	std::lock_guard<std::mutex> g(update_lock_);
	return maps_.size();
}

uint8_t *Iommu::translate(uint64_t iova, uint64_t len) const
{
	/* A few per-thread cached tables, keyed by their (process-unique)
	 * generation, so several Iommus used from one thread do not thrash. */
	struct Slot {
		uint64_t gen = 0;
		std::shared_ptr<const Table> table;
		size_t hint = 0;
	};
	constexpr unsigned kSlots = 4;
	thread_local Slot slots[kSlots];
	thread_local unsigned victim = 0;

	const uint64_t g = gen_.load(std::memory_order_acquire);
	for (Slot &s : slots)
		if (s.gen == g)
			return s.table->find(iova, len, s.hint);
	Slot &s = slots[victim++ % kSlots];
	s.table = snapshot();
	s.gen = s.table->gen;
	s.hint = 0;
	return s.table->find(iova, len, s.hint);
}

/* ---- Reader --------------------------------------------------------------- */

Iommu::Reader::Reader(const Iommu &iommu) : iommu_(&iommu)
{
	sync();
}

Iommu::Reader::~Reader() = default;

uint64_t Iommu::Reader::sync()
{
	if (iommu_->gen_.load(std::memory_order_acquire) != gen_) {
		table_ = iommu_->snapshot();
		gen_ = table_->gen;
		last_ = 0;
		flush();
	}
	return gen_;
}

void Iommu::Reader::flush()
{
	for (Seg &e : tlb_)
		e = Seg{};
	victim_ = 0;
}

const Iommu::Reader::Seg *Iommu::Reader::miss(uint64_t iova, uint64_t len)
{
	const IommuRange *s = table_->find_seg(iova, len, last_);
	if (s == nullptr)
		return nullptr;
	Seg &e = tlb_[victim_++ % kTlbEntries];
	e.first = s->iova;
	e.last = s->iova + (s->len - 1);
	e.va = s->va;
	return &e;
}

} // namespace xcap::model
