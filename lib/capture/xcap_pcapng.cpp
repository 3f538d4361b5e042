/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 xcap developers
 *
 * pcapng (draft-ietf-opsawg-pcapng) writer: Section Header Block, one
 * Interface Description Block per channel, then Enhanced Packet Blocks whose
 * packet data is written by writev() from where the records lie.
 */
#include "xcap_pcapng.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

namespace xcap::capture {
namespace {

constexpr uint32_t kShbType = 0x0A0D0D0A;
constexpr uint32_t kIdbType = 0x00000001;
constexpr uint32_t kEpbType = 0x00000006;
constexpr uint32_t kByteOrderMagic = 0x1A2B3C4D;
constexpr uint16_t kLinktypeEthernet = 1;
constexpr uint16_t kOptEnd = 0, kOptShbUserAppl = 4, kOptIfName = 2, kOptIfTsresol = 9;
constexpr uint32_t kEpbHeader = 28, kTrailer = 4;

inline uint32_t pad4(uint32_t n) { return (4 - (n & 3)) & 3; }

/* Little blocks built in memory (host byte order: pcapng is written in the
 * writer's order, the byte-order magic tells readers). */
class Block {
public:
	explicit Block(uint32_t type) { u32(type).u32(0); }
	Block &u16(uint16_t v) { return raw(&v, 2); }
	Block &u32(uint32_t v) { return raw(&v, 4); }
	Block &u64(uint64_t v) { return raw(&v, 8); }
	Block &raw(const void *p, size_t n)
	{
		const auto *c = static_cast<const uint8_t *>(p);
		b_.insert(b_.end(), c, c + n);
		return *this;
	}
	Block &option(uint16_t code, const void *p, uint16_t n)
	{
		u16(code).u16(n).raw(p, n);
		b_.resize(b_.size() + pad4(n), 0);
		return *this;
	}
	std::vector<uint8_t> &finish()
	{
		const uint32_t total = uint32_t(b_.size() + 4);
		u32(total);
		std::memcpy(b_.data() + 4, &total, 4);
		return b_;
	}

private:
	std::vector<uint8_t> b_;
};

} // namespace

PcapngWriter::~PcapngWriter()
{
	close();
}

int PcapngWriter::write_all(struct iovec *iov, unsigned n)
{
	while (n > 0) {
		const ssize_t w = ::writev(fd_, iov, int(n));
		writevs_++;
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		bytes_ += uint64_t(w);
		size_t left = size_t(w);
		while (n > 0 && left >= iov->iov_len) {
			left -= iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = static_cast<uint8_t *>(iov->iov_base) + left;
			iov->iov_len -= left;
		}
	}
	return 0;
}

bool PcapngWriter::open(const std::string &path, const std::vector<std::string> &if_names,
			uint32_t snaplen, int64_t ts_offset_ns, std::string &err)
{
	close();
	if (if_names.empty() || if_names.size() > 65535) {
		err = "pcapng: need 1..65535 interfaces";
		return false;
	}
	fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd_ < 0) {
		err = "cannot create " + path + ": " + std::strerror(errno);
		return false;
	}
	ts_offset_ = ts_offset_ns;
	n_ifaces_ = uint32_t(if_names.size());
	packets_ = bytes_ = writevs_ = 0;
	iov_.assign(kMaxIov, iovec{});
	slots_.assign(kMaxIov / 2 + 1, Slot{});
	n_iov_ = n_slots_ = 0;
	owed_pad_ = owed_total_ = 0;

	std::vector<std::vector<uint8_t>> blocks;
	static const char appl[] = "xcap capture library";
	Block shb(kShbType);
	shb.u32(kByteOrderMagic).u16(1).u16(0).u64(~uint64_t(0));
	shb.option(kOptShbUserAppl, appl, sizeof appl - 1).option(kOptEnd, nullptr, 0);
	blocks.push_back(shb.finish());
	for (const auto &name : if_names) {
		Block idb(kIdbType);
		const uint8_t tsresol = 9;
		idb.u16(kLinktypeEthernet).u16(0).u32(snaplen);
		idb.option(kOptIfName, name.data(), uint16_t(std::min<size_t>(name.size(), 256)));
		idb.option(kOptIfTsresol, &tsresol, 1).option(kOptEnd, nullptr, 0);
		blocks.push_back(idb.finish());
	}
	std::vector<iovec> v;
	for (auto &b : blocks)
		v.push_back(iovec{b.data(), b.size()});
	const int rc = write_all(v.data(), unsigned(v.size()));
	if (rc < 0) {
		err = "cannot write " + path + ": " + std::strerror(-rc);
		::close(fd_);
		fd_ = -1;
		return false;
	}
	return true;
}

bool PcapngWriter::add(const Record &r, uint32_t len)
{
	if (full() || r.channel >= n_ifaces_ || fd_ < 0)
		return false;
	if (len > r.cap_len)
		len = r.cap_len;
	Slot &s = slots_[n_slots_++];
	uint8_t *p = s.b;
	if (owed_total_) {
		std::memset(p, 0, owed_pad_);
		p += owed_pad_;
		std::memcpy(p, &owed_total_, 4);
		p += 4;
	}
	const uint32_t total = kEpbHeader + len + pad4(len) + kTrailer;
	const uint64_t ts = r.ts_ns + uint64_t(ts_offset_);
	const uint32_t hdr[7] = {kEpbType, total, r.channel, uint32_t(ts >> 32), uint32_t(ts),
				 len, r.wire_len};
	std::memcpy(p, hdr, sizeof hdr);
	p += sizeof hdr;
	iov_[n_iov_++] = iovec{s.b, size_t(p - s.b)};
	if (len)
		iov_[n_iov_++] = iovec{const_cast<uint8_t *>(r.data), len};
	owed_pad_ = pad4(len);
	owed_total_ = total;
	packets_++;
	return true;
}

int PcapngWriter::flush()
{
	if (fd_ < 0)
		return -EBADF;
	if (owed_total_) {
		Slot &s = slots_[n_slots_++];
		std::memset(s.b, 0, owed_pad_);
		std::memcpy(s.b + owed_pad_, &owed_total_, 4);
		iov_[n_iov_++] = iovec{s.b, owed_pad_ + 4};
	}
	const int rc = n_iov_ ? write_all(iov_.data(), n_iov_) : 0;
	n_iov_ = n_slots_ = 0;
	owed_pad_ = owed_total_ = 0;
	return rc;
}

int PcapngWriter::close()
{
	if (fd_ < 0)
		return 0;
	int rc = flush();
	if (::close(fd_) != 0 && rc == 0)
		rc = -errno;
	fd_ = -1;
	return rc;
}

} // namespace xcap::capture
