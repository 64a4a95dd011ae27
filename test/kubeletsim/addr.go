package kubeletsim

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// hostsPerBlock is the number of addresses used in each x.y.z.0/24: .1 to
// .254. Skipping .0 and .255 keeps every address an ordinary-looking host
// address, although Linux would accept them on loopback.
const hostsPerBlock = 254

// NodeAddr returns the address of node i when node 0 has first: the i-th
// address after first, skipping x.y.z.0 and x.y.z.255. With the default
// first address 127.1.0.1, node 0 is 127.1.0.1, node 253 is 127.1.0.254,
// node 254 is 127.1.1.1 and node 4999 is 127.1.19.174; the second octet only
// moves after 65 024 nodes. Every address stays inside 127.0.0.0/8 and above
// 127.0.0.1, which Linux routes to the loopback interface without any set-up.
func NodeAddr(first netip.Addr, i int) (netip.Addr, error) {
	if !first.Is4() {
		return netip.Addr{}, fmt.Errorf("first node address %v is not IPv4", first)
	}
	b := first.As4()
	if b[0] != 127 || b[3] == 0 || b[3] == 255 || first.Compare(netip.AddrFrom4([4]byte{127, 0, 0, 1})) <= 0 {
		return netip.Addr{}, fmt.Errorf("first node address %v must be in 127.0.0.0/8, above 127.0.0.1, and not end in .0 or .255", first)
	}
	if i < 0 {
		return netip.Addr{}, fmt.Errorf("node index %d is negative", i)
	}
	u := binary.BigEndian.Uint32(b[:])
	k := uint64(u>>8)*hostsPerBlock + uint64(b[3]-1) + uint64(i)
	v := (k/hostsPerBlock)<<8 | (k%hostsPerBlock + 1)
	if v>>24 != 127 {
		return netip.Addr{}, fmt.Errorf("node %d falls outside 127.0.0.0/8 when node 0 is %v", i, first)
	}
	var out [4]byte
	binary.BigEndian.PutUint32(out[:], uint32(v))
	return netip.AddrFrom4(out), nil
}
