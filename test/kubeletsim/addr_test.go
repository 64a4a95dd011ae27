package kubeletsim

import (
	"net/netip"
	"testing"
)

func TestNodeAddr(t *testing.T) {
	f := func(first string, i int, want string) {
		t.Helper()
		got, err := NodeAddr(netip.MustParseAddr(first), i)
		if err != nil {
			t.Fatalf("NodeAddr(%s, %d): %v", first, i, err)
		}
		if got.String() != want {
			t.Errorf("NodeAddr(%s, %d) = %v, want %s", first, i, got, want)
		}
	}
	f("127.1.0.1", 0, "127.1.0.1")
	f("127.1.0.1", 1, "127.1.0.2")
	f("127.1.0.1", 253, "127.1.0.254")
	f("127.1.0.1", 254, "127.1.1.1")
	f("127.1.0.1", 4999, "127.1.19.174")
	f("127.1.0.1", 65024, "127.2.0.1")
	f("127.1.200.1", 2, "127.1.200.3")
	f("127.0.0.2", 0, "127.0.0.2")
	f("127.0.0.2", 253, "127.0.1.1")
	f("127.1.0.200", 60, "127.1.1.6")

	bad := func(first string, i int) {
		t.Helper()
		if got, err := NodeAddr(netip.MustParseAddr(first), i); err == nil {
			t.Errorf("NodeAddr(%s, %d) = %v, want an error", first, i, got)
		}
	}
	bad("127.0.0.1", 0)
	bad("127.0.0.0", 0)
	bad("10.0.0.1", 0)
	bad("::1", 0)
	bad("127.1.0.0", 0)
	bad("127.1.0.255", 0)
	bad("127.1.0.1", -1)
	bad("127.255.255.254", 1)

	// Every address is distinct and none ends in .0 or .255.
	seen := map[netip.Addr]bool{}
	for i := range 70000 {
		a, err := NodeAddr(DefaultFirstIP, i)
		if err != nil {
			t.Fatal(err)
		}
		if b := a.As4(); b[3] == 0 || b[3] == 255 || seen[a] {
			t.Fatalf("node %d: address %v repeated or reserved-looking", i, a)
		}
		seen[a] = true
	}
}
