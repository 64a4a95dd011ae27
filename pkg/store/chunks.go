package store

// A shard's records live in chunks of 64 bytes, allocated from the shard's
// arena: pointer-free blocks of 16 chunks, so a shard's records are a few
// objects the garbage collector never scans, grow a kilobyte at a time
// rather than by copying, and a series takes only as many chunks as its
// points need. Chunk 0 is never handed out: 0 is the null chunk.
//
// A series' chunks form a chain, oldest to newest. Each chunk keeps one
// 32-bit link, the XOR of its older and newer neighbours' numbers: walking
// from either end, the neighbour met last undoes the XOR and yields the next
// one, which is all the chain needs (readers walk back from the newest,
// eviction frees from the oldest), at half the cost of two links. A free
// chunk's link is the next free chunk.
const (
	chunkWords  = 8
	chunkBits   = chunkWords * 64
	chunkBytes  = chunkWords * 8
	blockChunks = 16
	blockBytes  = blockChunks * chunkBytes
)

type block [blockChunks * chunkWords]uint64

type arena struct {
	blocks []*block
	links  []uint32
	// free is the first free chunk, 0 when none is.
	free uint32
	// used counts the chunks held by series.
	used int
}

func (a *arena) chunk(i uint32) *[chunkWords]uint64 {
	o := i % blockChunks * chunkWords
	return (*[chunkWords]uint64)(a.blocks[i/blockChunks][o : o+chunkWords])
}

// alloc returns a zeroed chunk.
func (a *arena) alloc() uint32 {
	if a.free == 0 {
		a.grow()
	}
	i := a.free
	a.free = a.links[i]
	a.links[i] = 0
	*a.chunk(i) = [chunkWords]uint64{}
	a.used++
	return i
}

func (a *arena) release(i uint32) {
	a.links[i] = a.free
	a.free = i
	a.used--
}

// grow adds a block of free chunks.
func (a *arena) grow() {
	first := uint32(len(a.blocks) * blockChunks)
	a.blocks = append(a.blocks, new(block))
	for range blockChunks {
		a.links = append(a.links, 0)
	}
	for i := first + blockChunks - 1; i >= first && i > 0; i-- {
		a.links[i] = a.free
		a.free = i
	}
}

// chunks is the number of chunks the arena has room for.
func (a *arena) chunks() int { return len(a.blocks) * blockChunks }

func (a *arena) bytes() int64 {
	return int64(len(a.blocks))*blockBytes + int64(cap(a.blocks))*8 + int64(cap(a.links))*4
}

// chain is a series' chunks: the oldest, the newest, and how many bits of
// the newest are written.
type chain struct {
	oldest, newest uint32
	pos            uint16
}

// add links a new, empty chunk as the newest.
func (a *arena) add(c *chain) {
	i := a.alloc()
	if c.newest == 0 {
		c.oldest, c.newest, c.pos = i, i, 0
		return
	}
	a.links[i] = c.newest
	a.links[c.newest] ^= i
	c.newest, c.pos = i, 0
}

// dropOldest frees the oldest chunk of a chain of at least two.
func (a *arena) dropOldest(c *chain) {
	o := c.oldest
	next := a.links[o]
	a.release(o)
	a.links[next] ^= o
	c.oldest = next
}

// drop frees the whole chain.
func (a *arena) drop(c *chain) {
	for prev, i := uint32(0), c.oldest; i != 0; {
		next := a.links[i] ^ prev
		a.release(i)
		prev, i = i, next
	}
	*c = chain{}
}

// older returns the chunk before i, whose newer neighbour is newer.
func (a *arena) older(i, newer uint32) uint32 { return a.links[i] ^ newer }

// moveTo copies the chain into b, oldest first, and points c at the copy.
func (a *arena) moveTo(b *arena, c *chain) {
	if c.newest == 0 {
		return
	}
	moved := chain{}
	for prev, i := uint32(0), c.oldest; i != 0; {
		b.add(&moved)
		*b.chunk(moved.newest) = *a.chunk(i)
		next := a.links[i] ^ prev
		prev, i = i, next
	}
	moved.pos = c.pos
	*c = moved
}

// MaxSeriesBytes is the most one series' points can take at a capacity,
// whatever their values: its own fields, and chunks with their links. A
// record is at most 215 bits, so every chunk but the newest holds at least
// two, all leading to points held but for the oldest chunk's, which holds
// at least one: at most (capacity-1)/2+1 chunks. That is 35.6 bytes a point
// at 60 points and 34.4 at 240, where flat rings took 24 whatever the
// values; realistic series take 4-12 (BenchmarkPoints). The arena around
// the chunks rounds up to 1 KiB blocks per node and keeps freed chunks for
// reuse until more than three quarters of it is free.
func MaxSeriesBytes(capacity int) int64 {
	return int64((capacity-1)/2+1)*(chunkBytes+4) + sizeofSeries
}
