package benchsuite

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/source"
)

// The Nexmark generator, with the semantics of the reference
// implementation (nexmark/nexmark, itself from Apache Beam's): of every 50
// consecutive events 1 is a person, 3 are auctions and 46 are bids; each
// event's fields come from a java.util.Random seeded with the event number
// (so event n is the same whatever else is generated, and a seed of 0
// gives the reference's values); people are chosen among the 1,000 most
// recent (plus a lead of 10 not yet created), auctions among the 100 most
// recent (plus 10); hot auctions, sellers and bidders with the reference's
// ratios (1 - 1/2 of bids go to a hot auction, 1 - 1/4 of auctions to a
// hot seller and of bids to a hot bidder, "hot" being the first of the
// latest block of 100); and event n happens at base + n * 100 ns (10M
// events per second) in milliseconds, as the reference's dateTime.
//
// The generator writes Arrow records directly. A NexmarkSource serves the
// events of chosen kinds as one wide schema: event_type (0 person,
// 1 auction, 2 bid), dateTime, then the columns of each kind it serves
// named <kind>_<field> (person_id, auction_seller, bid_price, ...), null
// in the rows of the other kinds. Queries select their view of it, as the
// reference suite selects person, auction and bid from one datagen table.

// NexmarkKind is the type of a Nexmark event.
type NexmarkKind int32

const (
	// NexmarkPerson is a new person (event_type 0).
	NexmarkPerson NexmarkKind = 0
	// NexmarkAuction is a new auction (event_type 1).
	NexmarkAuction NexmarkKind = 1
	// NexmarkBid is a bid (event_type 2).
	NexmarkBid NexmarkKind = 2
	// NexmarkEndOfInput is the event_type of the end-of-input marker row a
	// source adds after its last event when built with
	// WithNexmarkEndMarker.
	NexmarkEndOfInput NexmarkKind = -1
)

func (k NexmarkKind) String() string {
	switch k {
	case NexmarkPerson:
		return "person"
	case NexmarkAuction:
		return "auction"
	case NexmarkBid:
		return "bid"
	case NexmarkEndOfInput:
		return "end-of-input"
	}
	return "NexmarkKind(" + strconv.Itoa(int(k)) + ")"
}

// The reference generator's constants.
const (
	nexmarkPersonProportion  = 1
	nexmarkAuctionProportion = 3
	nexmarkBidProportion     = 46
	nexmarkProportion        = nexmarkPersonProportion + nexmarkAuctionProportion + nexmarkBidProportion

	nexmarkFirstPersonID   = 1000
	nexmarkFirstAuctionID  = 1000
	nexmarkFirstCategoryID = 10
	nexmarkNumCategories   = 5
	nexmarkPersonIDLead    = 10
	nexmarkAuctionIDLead   = 10

	nexmarkNumActivePeople     = 1000
	nexmarkNumInFlightAuctions = 100

	// Hot items: a bid goes to a hot auction unless nextInt(ratio) is 0,
	// and "hot" is the first of the latest block of hotBlock ids.
	nexmarkHotAuctionRatio = 2
	nexmarkHotSellerRatio  = 4
	nexmarkHotBidderRatio  = 4
	nexmarkHotBlock        = 100

	nexmarkHotChannelsRatio = 2
	nexmarkChannels         = 10_000

	nexmarkAvgPersonBytes  = 200
	nexmarkAvgAuctionBytes = 500
	nexmarkAvgBidBytes     = 100

	nexmarkMinStringLength = 3

	// nexmarkDefaultRate is the events per second of event time.
	nexmarkDefaultRate = 10_000_000
)

// nexmarkBaseTime is the event time of event 0: Beam's Nexmark base time,
// a multiple of ten seconds.
var nexmarkBaseTime = time.Date(2015, 7, 15, 0, 0, 0, 0, time.UTC)

var (
	nexmarkFirstNames = []string{"Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter"}
	nexmarkLastNames  = []string{"Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris"}
	nexmarkCities     = []string{"Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland", "Bend", "Redmond", "Seattle", "Kent", "Cheyenne"}
	nexmarkStates     = []string{"AZ", "CA", "ID", "OR", "WA", "WY"}
	nexmarkHotChans   = []string{"Google", "Facebook", "Baidu", "Apple"}
)

// nexmarkRand is java.util.Random: the 48-bit linear congruential
// generator and its nextInt, nextLong and nextDouble, so that the
// generator draws the reference's values.
type nexmarkRand struct{ seed uint64 }

const (
	jrandMult = 0x5DEECE66D
	jrandAdd  = 0xB
	jrandMask = 1<<48 - 1
)

func newNexmarkRand(seed int64) nexmarkRand {
	return nexmarkRand{seed: (uint64(seed) ^ jrandMult) & jrandMask}
}

func (r *nexmarkRand) next(bits uint) int32 {
	r.seed = (r.seed*jrandMult + jrandAdd) & jrandMask
	return int32(r.seed >> (48 - bits))
}

// intn is nextInt(bound), bound > 0.
func (r *nexmarkRand) intn(bound int32) int32 {
	v := r.next(31)
	m := bound - 1
	if bound&m == 0 {
		return int32((int64(bound) * int64(v)) >> 31)
	}
	for u := v; ; u = r.next(31) {
		v = u % bound
		if u-v+m >= 0 {
			return v
		}
	}
}

// nextInt32 is nextInt().
func (r *nexmarkRand) nextInt32() int32 { return r.next(32) }

// nextInt64 is nextLong().
func (r *nexmarkRand) nextInt64() int64 { return int64(r.next(32))<<32 + int64(r.next(32)) }

// nextFloat64 is nextDouble().
func (r *nexmarkRand) nextFloat64() float64 {
	return float64(int64(r.next(26))<<27+int64(r.next(27))) * (1.0 / (1 << 53))
}

// longn is the reference's nextLong(random, n): uniform in [0, n).
func (r *nexmarkRand) longn(n int64) int64 {
	if n < math.MaxInt32 {
		return int64(r.intn(int32(n)))
	}
	v := r.nextInt64() % n
	if v < 0 {
		v = -v
	}
	return v
}

// NexmarkGenerator produces the Nexmark event stream: event n is the same
// for the same options whatever else is generated. It is immutable and
// safe for concurrent use.
type NexmarkGenerator struct {
	seed    int64
	baseMs  int64
	delayNs int64
	hotURLs [][]byte
	// The cold channels' names and urls, each set in one array for
	// locality: channel i's name is chans[chanEnd[i-1]:chanEnd[i]], its
	// url urls[urlEnd[i-1]:urlEnd[i]] (from 0 for channel 0).
	chans, urls     []byte
	chanEnd, urlEnd []int32
}

// NexmarkOption configures NewNexmarkGenerator.
type NexmarkOption func(*nexmarkConfig)

type nexmarkConfig struct {
	seed int64
	base time.Time
	rate int64
}

// WithNexmarkSeed mixes seed into every event's random draws (0, the
// default, gives the reference's values).
func WithNexmarkSeed(seed int64) NexmarkOption { return func(c *nexmarkConfig) { c.seed = seed } }

// WithNexmarkBaseTime sets the event time of event 0 (default
// 2015-07-15T00:00:00Z, Beam's base time). It is truncated to
// milliseconds.
func WithNexmarkBaseTime(t time.Time) NexmarkOption { return func(c *nexmarkConfig) { c.base = t } }

// WithNexmarkRate sets how many events happen per second of event time
// (default 10,000,000: 100 ns apart). It must divide 1e9.
func WithNexmarkRate(eventsPerSecond int64) NexmarkOption {
	return func(c *nexmarkConfig) { c.rate = eventsPerSecond }
}

// NewNexmarkGenerator returns a generator; a rate that is not a positive
// divisor of 1e9 is an error.
func NewNexmarkGenerator(opts ...NexmarkOption) (*NexmarkGenerator, error) {
	c := nexmarkConfig{base: nexmarkBaseTime, rate: nexmarkDefaultRate}
	for _, o := range opts {
		o(&c)
	}
	if c.rate <= 0 || c.rate > 1e9 || 1e9%c.rate != 0 {
		return nil, fmt.Errorf("benchsuite: nexmark: rate %d events per second: give a positive divisor of 1e9 (such as 10000000, 100 ns apart), so every event's time is a whole number of nanoseconds", c.rate)
	}
	g := &NexmarkGenerator{seed: c.seed, baseMs: c.base.UnixMilli(), delayNs: 1e9 / c.rate}
	// The reference draws the four hot URLs and the 10,000 cold channels
	// from unseeded randoms; here they come from the seed so runs repeat.
	r := newNexmarkRand(c.seed ^ 0x6e65786d61726b) // "nexmark"
	for range nexmarkHotChans {
		g.hotURLs = append(g.hotURLs, nexmarkBaseURL(nil, &r))
	}
	g.chanEnd = make([]int32, nexmarkChannels)
	g.urlEnd = make([]int32, nexmarkChannels)
	for i := range nexmarkChannels {
		g.chans = strconv.AppendInt(append(g.chans, "channel-"...), int64(i), 10)
		g.chanEnd[i] = int32(len(g.chans))
		g.urls = nexmarkBaseURL(g.urls, &r)
		if r.intn(10) > 0 {
			g.urls = append(g.urls, "&channel_id="...)
			g.urls = strconv.AppendInt(g.urls, int64(absInt32(int32(bits.Reverse32(uint32(i))))), 10)
		}
		g.urlEnd[i] = int32(len(g.urls))
	}
	return g, nil
}

func absInt32(v int32) int32 {
	if v < 0 {
		return -v
	}
	return v
}

// Kind is the type of event n.
func (g *NexmarkGenerator) Kind(n int64) NexmarkKind {
	rem := n % nexmarkProportion
	switch {
	case rem < nexmarkPersonProportion:
		return NexmarkPerson
	case rem < nexmarkPersonProportion+nexmarkAuctionProportion:
		return NexmarkAuction
	}
	return NexmarkBid
}

// TimeMs is the event time of event n in Unix milliseconds.
func (g *NexmarkGenerator) TimeMs(n int64) int64 { return g.baseMs + n*g.delayNs/1e6 }

// MaxAuctionLengthMs bounds an auction's expires - dateTime: auctions
// last on average as long as it takes to create 100 more auctions.
func (g *NexmarkGenerator) MaxAuctionLengthMs() int64 {
	horizon := (nexmarkAuctionEvents*g.delayNs+1e6-1)/1e6 + 1
	return 2*horizon + 1
}

// nexmarkAuctionEvents is how many events it takes to create
// numInFlightAuctions auctions.
const nexmarkAuctionEvents = nexmarkNumInFlightAuctions * nexmarkProportion / nexmarkAuctionProportion

// random is the source of event n's draws.
func (g *NexmarkGenerator) random(n int64) nexmarkRand { return newNexmarkRand(n ^ g.seed) }

func nexmarkLastPerson(n int64) int64 {
	epoch, off := n/nexmarkProportion, n%nexmarkProportion
	if off >= nexmarkPersonProportion {
		off = nexmarkPersonProportion - 1
	}
	return epoch*nexmarkPersonProportion + off
}

func nexmarkNextPerson(n int64, r *nexmarkRand) int64 {
	people := nexmarkLastPerson(n) + 1
	active := min(people, nexmarkNumActivePeople)
	return people - active + r.longn(active+nexmarkPersonIDLead)
}

func nexmarkLastAuction(n int64) int64 {
	epoch, off := n/nexmarkProportion, n%nexmarkProportion
	switch {
	case off < nexmarkPersonProportion:
		epoch--
		off = nexmarkAuctionProportion - 1
	case off >= nexmarkPersonProportion+nexmarkAuctionProportion:
		off = nexmarkAuctionProportion - 1
	default:
		off -= nexmarkPersonProportion
	}
	return epoch*nexmarkAuctionProportion + off
}

func nexmarkNextAuction(n int64, r *nexmarkRand) int64 {
	hi := nexmarkLastAuction(n)
	lo := max(hi-nexmarkNumInFlightAuctions, 0)
	return lo + r.longn(hi-lo+1+nexmarkAuctionIDLead)
}

// nexmarkPrice is the reference's nextPrice: round(10^(6u) * 100) for u
// = nextDouble(). The power comes from a table of 10^(k/1024) times a
// short series for the rest (relative error below 1e-15, an absolute
// error below 1e-6 at the largest price); only when the result lies
// within 1e-6 of a rounding boundary, where the two computations could
// round apart, is it recomputed the exact way (nexmarkPriceExact).
func nexmarkPrice(r *nexmarkRand) int64 { return nexmarkPriceOf(r.nextFloat64() * 6) }

// nexmarkPriceOf is the price of exponent y in [0, 6).
func nexmarkPriceOf(y float64) int64 {
	t := y * nexmarkPowSteps
	k := int(t)
	z := (t - float64(k)) * (nexmarkLn10 / nexmarkPowSteps)
	e := 1 + z*(1+z*(0.5+z*(1.0/6+z*(1.0/24+z*(1.0/120)))))
	x := nexmarkPowTable[k]*e*100 + 0.5
	p := math.Floor(x)
	if f := x - p; f < 1e-6 || f > 1-1e-6 {
		return nexmarkPriceExact(y)
	}
	return int64(p)
}

// nexmarkPriceExact is the price of exponent y in [0, 6] as the reference
// computes it, with math.Pow.
func nexmarkPriceExact(y float64) int64 {
	return int64(math.Floor(nexmarkPow10(y)*100 + 0.5))
}

// nexmarkPowSteps is the number of table entries per power of ten.
const nexmarkPowSteps = 1024

// nexmarkPowTable[k] is 10^(k/nexmarkPowSteps) for k up to 6 powers.
var nexmarkPowTable = func() []float64 {
	t := make([]float64, 6*nexmarkPowSteps+1)
	for k := range t {
		t[k] = math.Pow(10, float64(k)/nexmarkPowSteps)
	}
	return t
}()

// nexmarkLn10 is math.Log(10), as math.Pow computes it on every call.
var nexmarkLn10 = math.Log(10)

// nexmarkPow10 is math.Pow(10, y) for y in [0, 6], bit for bit: the
// same operations as math.Pow's, without its special cases (none applies
// there) and its Log(10) on every call.
func nexmarkPow10(y float64) float64 {
	if y == 0 {
		return 1
	}
	if y == 1 {
		return 10
	}
	if y == 0.5 {
		return math.Sqrt(10)
	}
	yi, yf := math.Modf(y)
	a1, ae := 1.0, 0
	if yf != 0 {
		if yf > 0.5 {
			yf--
			yi++
		}
		a1 = math.Exp(yf * nexmarkLn10)
	}
	// 10 = 0.625 * 2**4; multiply in its successive squarings by the bits
	// of yi, as math.Pow does.
	x1, xe := 0.625, 4
	for i := int64(yi); i != 0; i >>= 1 {
		if i&1 == 1 {
			a1 *= x1
			ae += xe
		}
		x1 *= x1
		xe <<= 1
		if x1 < .5 {
			x1 += x1
			xe--
		}
	}
	return math.Ldexp(a1, ae)
}

// nexmarkString appends the reference's nextString(maxLength, special):
// 3 to maxLength-1 lower-case letters, each one special with chance 1/13,
// trimmed of spaces.
func nexmarkString(dst []byte, r *nexmarkRand, maxLength int32, special byte) []byte {
	start := len(dst)
	for n := nexmarkMinStringLength + r.intn(maxLength-nexmarkMinStringLength); n > 0; n-- {
		if r.intn(13) == 0 {
			dst = append(dst, special)
		} else {
			dst = append(dst, byte('a'+r.intn(26)))
		}
	}
	if special != ' ' {
		return dst
	}
	s := dst[start:]
	lo, hi := 0, len(s)
	for lo < hi && s[lo] == ' ' {
		lo++
	}
	for hi > lo && s[hi-1] == ' ' {
		hi--
	}
	n := copy(dst[start:], s[lo:hi])
	return dst[:start+n]
}

// nexmarkExactString appends n lower-case letters, six from each draw.
// As the reference, a draw's letters are its base-26 digits, lowest
// first, with the sign of the draw: a negative draw gives letters below
// 'a'.
func nexmarkExactString(dst []byte, r *nexmarkRand, n int) []byte {
	start := len(dst)
	dst = slices.Grow(dst, n)[:start+n]
	out := dst[start:]
	for len(out) >= 6 {
		nexmarkLetters(out[:6], r.nextInt32())
		out = out[6:]
	}
	if len(out) > 0 {
		var last [6]byte
		nexmarkLetters(last[:], r.nextInt32())
		copy(out, last[:])
	}
	return dst
}

// nexmarkLetters writes the six letters of draw v to dst[:6], two per
// table lookup.
func nexmarkLetters(dst []byte, v int32) {
	// Branch-free, as the sign is a coin toss: m is 0 or -1, u is |v|.
	m := v >> 31
	u := uint32((v ^ m) - m)
	tab := &nexmarkLetterPairs[m&1]
	lo, mid, hi := tab[u%676], tab[u/676%676], tab[u/(676*676)%676]
	binary.LittleEndian.PutUint32(dst, uint32(lo)|uint32(mid)<<16)
	binary.LittleEndian.PutUint16(dst[4:], hi)
}

// nexmarkLetterPairs[sign][d0+26*d1] is the two letters of base-26
// digits d0, d1 (the low byte is d0's): 'a'+d for a positive draw, 'a'-d
// for a negative one.
var nexmarkLetterPairs = func() (t [2][676]uint16) {
	for i := range 676 {
		d0, d1 := byte(i%26), byte(i/26)
		t[0][i] = uint16('a'+d0) | uint16('a'+d1)<<8
		t[1][i] = uint16('a'-d0) | uint16('a'-d1)<<8
	}
	return t
}()

// nexmarkExtra appends padding bringing an event of size bytes to about
// avg bytes on average (within 20%).
func nexmarkExtra(dst []byte, r *nexmarkRand, size, avg int) []byte {
	if size > avg {
		return dst
	}
	avg -= size
	delta := int(math.Floor(float64(avg)*0.2 + 0.5))
	n := avg - delta
	if delta != 0 {
		n += int(r.intn(int32(2 * delta)))
	}
	return nexmarkExactString(dst, r, n)
}

func nexmarkBaseURL(dst []byte, r *nexmarkRand) []byte {
	dst = append(dst, "https://www.nexmark.com/"...)
	dst = nexmarkString(dst, r, 5, '_')
	dst = append(dst, '/')
	dst = nexmarkString(dst, r, 5, '_')
	dst = append(dst, '/')
	dst = nexmarkString(dst, r, 5, '_')
	return append(dst, "/item.htm?query=1"...)
}

// NexmarkPersonEvent, NexmarkAuctionEvent and NexmarkBidEvent are the
// reference's Person, Auction and Bid (times in Unix milliseconds).
type NexmarkPersonEvent struct {
	ID                                          int64
	Name, EmailAddress, CreditCard, City, State string
	DateTimeMs                                  int64
	Extra                                       string
}

// NexmarkAuctionEvent is an auction.
type NexmarkAuctionEvent struct {
	ID                    int64
	ItemName, Description string
	InitialBid, Reserve   int64
	DateTimeMs, ExpiresMs int64
	Seller, Category      int64
	Extra                 string
}

// NexmarkBidEvent is a bid.
type NexmarkBidEvent struct {
	Auction, Bidder, Price int64
	Channel, URL           string
	DateTimeMs             int64
	Extra                  string
}

// nexmarkScratch holds one generated event's values: its integers, and
// for each string field the slice the event appends its value to (a
// record column's data when the event is served, else reused buffers),
// so generation allocates nothing per event.
type nexmarkScratch struct {
	ints [6]int64
	strs [6][]byte
}

// Person fields in scratch: ints id; strs name, email, card, city, state, extra.
func (g *NexmarkGenerator) person(n int64, s *nexmarkScratch) {
	r := g.random(n)
	s.ints[0] = nexmarkLastPerson(n) + nexmarkFirstPersonID
	st := &s.strs
	size := 8
	b := st[0]
	from := len(b)
	b = append(b, nexmarkFirstNames[r.intn(int32(len(nexmarkFirstNames)))]...)
	b = append(b, ' ')
	b = append(b, nexmarkLastNames[r.intn(int32(len(nexmarkLastNames)))]...)
	size += len(b) - from
	st[0] = b
	b = st[1]
	from = len(b)
	b = nexmarkString(b, &r, 7, ' ')
	b = append(b, '@')
	b = nexmarkString(b, &r, 5, ' ')
	b = append(b, ".com"...)
	size += len(b) - from
	st[1] = b
	var card [19]byte
	for i := range 4 {
		v := r.intn(10000)
		o := i * 5
		if i > 0 {
			card[o-1] = ' '
		}
		card[o], card[o+1], card[o+2], card[o+3] = byte('0'+v/1000), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10)
	}
	st[2] = append(st[2], card[:]...)
	b = st[3]
	from = len(b)
	b = append(b, nexmarkCities[r.intn(int32(len(nexmarkCities)))]...)
	size += len(b) - from
	st[3] = b
	b = st[4]
	from = len(b)
	b = append(b, nexmarkStates[r.intn(int32(len(nexmarkStates)))]...)
	size += len(b) - from + len(card)
	st[4] = b
	st[5] = nexmarkExtra(st[5], &r, size, nexmarkAvgPersonBytes)
}

// Auction fields in scratch: ints id, initialBid, reserve, expiresMs,
// seller, category; strs itemName, description, extra.
func (g *NexmarkGenerator) auction(n int64, s *nexmarkScratch) {
	r := g.random(n)
	tsMs := g.TimeMs(n)
	id := nexmarkLastAuction(n) + nexmarkFirstAuctionID
	var seller int64
	if r.intn(nexmarkHotSellerRatio) > 0 {
		seller = nexmarkLastPerson(n) / nexmarkHotBlock * nexmarkHotBlock
	} else {
		seller = nexmarkNextPerson(n, &r)
	}
	seller += nexmarkFirstPersonID
	category := int64(nexmarkFirstCategoryID + r.intn(nexmarkNumCategories))
	initialBid := nexmarkPrice(&r)
	horizon := g.TimeMs(n+nexmarkAuctionEvents) - tsMs
	expires := tsMs + 1 + r.longn(max(horizon*2, 1))
	from := len(s.strs[0])
	s.strs[0] = nexmarkString(s.strs[0], &r, 20, ' ')
	nameLen := len(s.strs[0]) - from
	from = len(s.strs[1])
	s.strs[1] = nexmarkString(s.strs[1], &r, 100, ' ')
	descLen := len(s.strs[1]) - from
	reserve := initialBid + nexmarkPrice(&r)
	s.strs[2] = nexmarkExtra(s.strs[2], &r, 8+nameLen+descLen+8+8+8+8+8, nexmarkAvgAuctionBytes)
	s.ints = [6]int64{id, initialBid, reserve, expires, seller, category}
}

// Bid fields in scratch: ints auction, bidder, price; strs channel, url,
// extra.
func (g *NexmarkGenerator) bid(n int64, s *nexmarkScratch) {
	r := g.random(n)
	var auction int64
	if r.intn(nexmarkHotAuctionRatio) > 0 {
		auction = nexmarkLastAuction(n) / nexmarkHotBlock * nexmarkHotBlock
	} else {
		auction = nexmarkNextAuction(n, &r)
	}
	auction += nexmarkFirstAuctionID
	var bidder int64
	if r.intn(nexmarkHotBidderRatio) > 0 {
		bidder = nexmarkLastPerson(n)/nexmarkHotBlock*nexmarkHotBlock + 1
	} else {
		bidder = nexmarkNextPerson(n, &r)
	}
	bidder += nexmarkFirstPersonID
	price := nexmarkPrice(&r)
	if r.intn(nexmarkHotChannelsRatio) > 0 {
		i := r.intn(int32(len(nexmarkHotChans)))
		s.strs[0] = append(s.strs[0], g.hotChan(int(i))...)
		s.strs[1] = append(s.strs[1], g.hotURLs[i]...)
	} else {
		i := r.intn(nexmarkChannels)
		var chanFrom, urlFrom int32
		if i > 0 {
			chanFrom, urlFrom = g.chanEnd[i-1], g.urlEnd[i-1]
		}
		s.strs[0] = append(s.strs[0], g.chans[chanFrom:g.chanEnd[i]]...)
		s.strs[1] = append(s.strs[1], g.urls[urlFrom:g.urlEnd[i]]...)
	}
	s.strs[2] = nexmarkExtra(s.strs[2], &r, 32, nexmarkAvgBidBytes)
	s.ints[0], s.ints[1], s.ints[2] = auction, bidder, price
}

var nexmarkHotChanBytes = func() [][]byte {
	out := make([][]byte, len(nexmarkHotChans))
	for i, c := range nexmarkHotChans {
		out[i] = []byte(c)
	}
	return out
}()

func (g *NexmarkGenerator) hotChan(i int) []byte { return nexmarkHotChanBytes[i] }

// Person returns event n as a person; n must be a person event.
func (g *NexmarkGenerator) Person(n int64) NexmarkPersonEvent {
	var s nexmarkScratch
	g.person(n, &s)
	return NexmarkPersonEvent{ID: s.ints[0], Name: string(s.strs[0]), EmailAddress: string(s.strs[1]), CreditCard: string(s.strs[2]),
		City: string(s.strs[3]), State: string(s.strs[4]), DateTimeMs: g.TimeMs(n), Extra: string(s.strs[5])}
}

// Auction returns event n as an auction; n must be an auction event.
func (g *NexmarkGenerator) Auction(n int64) NexmarkAuctionEvent {
	var s nexmarkScratch
	g.auction(n, &s)
	return NexmarkAuctionEvent{ID: s.ints[0], ItemName: string(s.strs[0]), Description: string(s.strs[1]), InitialBid: s.ints[1],
		Reserve: s.ints[2], DateTimeMs: g.TimeMs(n), ExpiresMs: s.ints[3], Seller: s.ints[4], Category: s.ints[5], Extra: string(s.strs[2])}
}

// Bid returns event n as a bid; n must be a bid event.
func (g *NexmarkGenerator) Bid(n int64) NexmarkBidEvent {
	var s nexmarkScratch
	g.bid(n, &s)
	return NexmarkBidEvent{Auction: s.ints[0], Bidder: s.ints[1], Price: s.ints[2], Channel: string(s.strs[0]), URL: string(s.strs[1]),
		DateTimeMs: g.TimeMs(n), Extra: string(s.strs[2])}
}

// The columns of each kind, after event_type and dateTime.
var (
	nexmarkTimestamp = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	nexmarkKindCols  = [3][]arrow.Field{
		{
			{Name: "person_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
			{Name: "person_name", Type: arrow.BinaryTypes.String, Nullable: true},
			{Name: "person_emailAddress", Type: arrow.BinaryTypes.String, Nullable: true},
			{Name: "person_creditCard", Type: arrow.BinaryTypes.String, Nullable: true},
			{Name: "person_city", Type: arrow.BinaryTypes.String, Nullable: true},
			{Name: "person_state", Type: arrow.BinaryTypes.String, Nullable: true},
			{Name: "person_extra", Type: arrow.BinaryTypes.String, Nullable: true},
		},
		{
			{Name: "auction_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
			{Name: "auction_itemName", Type: arrow.BinaryTypes.String, Nullable: true},
			{Name: "auction_description", Type: arrow.BinaryTypes.String, Nullable: true},
			{Name: "auction_initialBid", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
			{Name: "auction_reserve", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
			{Name: "auction_expires", Type: nexmarkTimestamp, Nullable: true},
			{Name: "auction_seller", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
			{Name: "auction_category", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
			{Name: "auction_extra", Type: arrow.BinaryTypes.String, Nullable: true},
		},
		{
			{Name: "bid_auction", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
			{Name: "bid_bidder", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
			{Name: "bid_price", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
			{Name: "bid_channel", Type: arrow.BinaryTypes.String, Nullable: true},
			{Name: "bid_url", Type: arrow.BinaryTypes.String, Nullable: true},
			{Name: "bid_extra", Type: arrow.BinaryTypes.String, Nullable: true},
		},
	}
)

// NexmarkSchema is the schema of a source serving kinds: event_type
// (int32), dateTime (timestamp in µs, UTC, whole milliseconds), then each
// kind's columns in the order person, auction, bid.
func NexmarkSchema(kinds ...NexmarkKind) *arrow.Schema {
	var serve [3]bool
	for _, k := range kinds {
		if k >= NexmarkPerson && k <= NexmarkBid {
			serve[k] = true
		}
	}
	return nexmarkSchema(serve)
}

func nexmarkSchema(serve [3]bool) *arrow.Schema {
	fields := []arrow.Field{
		{Name: "event_type", Type: arrow.PrimitiveTypes.Int32},
		{Name: "dateTime", Type: nexmarkTimestamp},
	}
	for k, on := range serve {
		if on {
			fields = append(fields, nexmarkKindCols[k]...)
		}
	}
	return arrow.NewSchema(fields, nil)
}

// nexmarkBuilder writes the events of one record straight into the
// Arrow buffers of its columns, sized up front: the number of rows is
// known before the first event.
type nexmarkBuilder struct {
	g      *NexmarkGenerator
	serve  [3]bool
	schema *arrow.Schema
	mem    memory.Allocator
	rows   int // rows written
	// slack is how many bytes a string column keeps free before each
	// event, more than any one value takes, so values are appended in
	// place.
	slack   int
	etype   nexmarkBuf[int32]
	ts      nexmarkBuf[int64]
	cols    [3][]*nexmarkCol // each served kind's columns
	scratch nexmarkScratch
	spare   [6][]byte // the string fields of events not served
}

// nexmarkBuf is a buffer of mem and its bytes as a slice of T.
type nexmarkBuf[T int32 | int64] struct {
	buf *memory.Buffer
	v   []T
}

func newNexmarkBuf[T int32 | int64](mem memory.Allocator, n int) nexmarkBuf[T] {
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(n * int(unsafe.Sizeof(T(0))))
	return nexmarkBuf[T]{buf: buf, v: arrow.GetData[T](buf.Bytes())}
}

// nexmarkCol is one column of a kind: int64 values, or int32 offsets
// into data, and a validity bitmap when some rows are of another kind.
type nexmarkCol struct {
	field arrow.Field
	str   bool
	src   int   // the scratch int or string the column takes
	scale int64 // what an int is multiplied by: 1000 for ms to µs
	nulls int
	valid *memory.Buffer
	bits  []byte
	ints  nexmarkBuf[int64]
	offs  nexmarkBuf[int32]
	data  *memory.Buffer
	d     []byte // data's bytes written, with its capacity
}

// nexmarkColSrc is, for each kind's columns in nexmarkKindCols order,
// whether it is a string, which scratch value it takes, and its scale.
var nexmarkColSrc = [3][]struct {
	str        bool
	src        int
	scale      int64
	avgStrSize int
}{
	{{false, 0, 1, 0}, {true, 0, 0, 11}, {true, 1, 0, 14}, {true, 2, 0, 19}, {true, 3, 0, 8}, {true, 4, 0, 2}, {true, 5, 0, 140}},
	{{false, 0, 1, 0}, {true, 0, 0, 11}, {true, 1, 0, 50}, {false, 1, 1, 0}, {false, 2, 1, 0}, {false, 3, 1000, 0}, {false, 4, 1, 0}, {false, 5, 1, 0}, {true, 2, 0, 400}},
	{{false, 0, 1, 0}, {false, 1, 1, 0}, {false, 2, 1, 0}, {true, 0, 0, 10}, {true, 1, 0, 72}, {true, 2, 0, 68}},
}

// nexmarkSlack is more than any one string value's length.
const nexmarkSlack = 1024

// newNexmarkBuilder sizes a record for the served events among lo..hi-1,
// plus extra rows (the end marker).
func newNexmarkBuilder(g *NexmarkGenerator, serve [3]bool, schema *arrow.Schema, mem memory.Allocator, lo, hi int64, extra int) *nexmarkBuilder {
	var kindRows [3]int
	for n := lo; n < hi; n++ {
		kindRows[g.Kind(n)]++
	}
	rows := extra
	for k, on := range serve {
		if on {
			rows += kindRows[k]
		}
	}
	b := &nexmarkBuilder{g: g, serve: serve, schema: schema, mem: mem, slack: nexmarkSlack,
		etype: newNexmarkBuf[int32](mem, rows), ts: newNexmarkBuf[int64](mem, rows)}
	for k, on := range serve {
		if !on {
			continue
		}
		for j, f := range nexmarkKindCols[k] {
			spec := nexmarkColSrc[k][j]
			c := &nexmarkCol{field: f, str: spec.str, src: spec.src, scale: spec.scale, nulls: rows - kindRows[k]}
			if c.nulls > 0 {
				c.valid = memory.NewResizableBuffer(mem)
				c.valid.Resize(int(bitutil.BytesForBits(int64(rows))))
				c.bits = c.valid.Bytes()
				clear(c.bits)
			}
			if c.str {
				c.offs = newNexmarkBuf[int32](mem, rows+1)
				c.offs.v[0] = 0
				c.data = memory.NewResizableBuffer(mem)
				c.data.Reserve(kindRows[k]*spec.avgStrSize*9/8 + b.slack)
				c.d = c.data.Buf()[:0]
			} else {
				c.ints = newNexmarkBuf[int64](mem, rows)
			}
			b.cols[k] = append(b.cols[k], c)
		}
	}
	return b
}

// appendEvent generates event n and appends it if its kind is served.
// Every event is generated whether it is served or not, as the reference
// suite generates all events and filters them by type.
func (b *nexmarkBuilder) appendEvent(n int64) {
	k := b.g.Kind(n)
	s := &b.scratch
	if !b.serve[k] {
		for j := range s.strs {
			s.strs[j] = b.spare[j][:0]
		}
		b.generate(k, n, s)
		b.spare = s.strs
		return
	}
	cols := b.cols[k]
	for _, c := range cols {
		if c.str {
			if cap(c.d)-len(c.d) < b.slack {
				c.grow(len(c.d) + b.slack)
			}
			s.strs[c.src] = c.d
		}
	}
	b.generate(k, n, s)
	i := b.rows
	b.rows++
	b.etype.v[i] = int32(k)
	b.ts.v[i] = b.g.TimeMs(n) * 1000
	for _, c := range cols {
		if c.bits != nil {
			bitutil.SetBit(c.bits, i)
		}
		if !c.str {
			c.ints.v[i] = s.ints[c.src] * c.scale
			continue
		}
		d := s.strs[c.src]
		if cap(d) != cap(c.d) {
			// The value outgrew the slack and append moved the bytes
			// to the Go heap: bring them back.
			c.grow(2 * len(d))
			c.d = append(c.d[:0], d...)
		} else {
			c.d = d
		}
		c.offs.v[i+1] = int32(len(c.d))
	}
	for other, on := range b.serve {
		if on && other != int(k) {
			b.appendNulls(other, i)
		}
	}
}

func (b *nexmarkBuilder) generate(k NexmarkKind, n int64, s *nexmarkScratch) {
	switch k {
	case NexmarkPerson:
		b.g.person(n, s)
	case NexmarkAuction:
		b.g.auction(n, s)
	default:
		b.g.bid(n, s)
	}
}

// grow makes room for at least size bytes of data, keeping those written.
func (c *nexmarkCol) grow(size int) {
	c.data.Reserve(max(size, 2*cap(c.d)))
	c.d = c.data.Buf()[:len(c.d)]
}

// appendNulls makes row i null in kind k's columns.
func (b *nexmarkBuilder) appendNulls(k, i int) {
	for _, c := range b.cols[k] {
		if c.str {
			c.offs.v[i+1] = c.offs.v[i]
		} else {
			c.ints.v[i] = 0
		}
	}
}

// appendEndMarker appends the end-of-input row: event_type -1, dateTime
// tsMs, nulls elsewhere.
func (b *nexmarkBuilder) appendEndMarker(tsMs int64) {
	i := b.rows
	b.rows++
	b.etype.v[i] = int32(NexmarkEndOfInput)
	b.ts.v[i] = tsMs * 1000
	for k, on := range b.serve {
		if on {
			b.appendNulls(k, i)
		}
	}
}

// finish returns the record of the rows written and gives up the
// builder's buffers to it. The caller releases the record.
func (b *nexmarkBuilder) finish() arrow.RecordBatch {
	rows := b.rows
	arrs := make([]arrow.Array, 0, len(b.schema.Fields()))
	add := func(dt arrow.DataType, nulls int, bufs ...*memory.Buffer) {
		d := array.NewData(dt, rows, bufs, nil, nulls, 0)
		arrs = append(arrs, array.MakeFromData(d))
		d.Release()
		for _, buf := range bufs {
			if buf != nil {
				buf.Release()
			}
		}
	}
	add(arrow.PrimitiveTypes.Int32, 0, nil, b.etype.buf)
	add(nexmarkTimestamp, 0, nil, b.ts.buf)
	for k, on := range b.serve {
		if !on {
			continue
		}
		for _, c := range b.cols[k] {
			if c.str {
				c.data.ResizeNoShrink(len(c.d))
				add(c.field.Type, c.nulls, c.valid, c.offs.buf, c.data)
			} else {
				add(c.field.Type, c.nulls, c.valid, c.ints.buf)
			}
		}
	}
	rec := array.NewRecordBatch(b.schema, arrs, int64(rows))
	for _, a := range arrs {
		a.Release()
	}
	return rec
}

// nexmarkEndMarkerAfter is how far after the last event the end-of-input
// marker lies: beyond every window and watermark delay of the queries, so
// that its watermark closes them all, as a bounded source's final
// watermark does in the reference suite.
const nexmarkEndMarkerAfter = time.Hour

// NexmarkSource is a source.Source of a fixed number of Nexmark events,
// generated on Read (so generation is part of the query, as in the
// reference suite). Offsets count events ({"event":n}); a batch of
// (start, end] holds the served events among start..end-1 in event
// order, in records of at most the chunk size, generated in parallel.
// Read is deterministic: the same offsets give the same rows.
type NexmarkSource struct {
	gen    *NexmarkGenerator
	events int64
	serve  [3]bool
	batch  int64
	chunk  int64
	marker bool
	schema *arrow.Schema
}

var (
	_ source.Source         = (*NexmarkSource)(nil)
	_ source.RateLimiter    = (*NexmarkSource)(nil)
	_ source.AvailableNower = (*NexmarkSource)(nil)
	_ source.Describer      = (*NexmarkSource)(nil)
)

// NexmarkSourceOption configures NewNexmarkSource.
type NexmarkSourceOption func(*NexmarkSource)

// WithNexmarkKinds chooses the kinds of event the source serves (default
// all three); all events are generated either way.
func WithNexmarkKinds(kinds ...NexmarkKind) NexmarkSourceOption {
	return func(s *NexmarkSource) {
		s.serve = [3]bool{}
		for _, k := range kinds {
			if k >= NexmarkPerson && k <= NexmarkBid {
				s.serve[k] = true
			}
		}
	}
}

// WithNexmarkBatchEvents sets the events per micro-batch when the query
// sets no read limit (default 1,000,000).
func WithNexmarkBatchEvents(n int64) NexmarkSourceOption {
	return func(s *NexmarkSource) { s.batch = n }
}

// WithNexmarkChunkEvents sets the events per record (default 65,536);
// chunks are generated in parallel.
func WithNexmarkChunkEvents(n int64) NexmarkSourceOption {
	return func(s *NexmarkSource) { s.chunk = n }
}

// WithNexmarkEndMarker adds, after the last event, one row of event_type
// NexmarkEndOfInput whose dateTime is an hour after the last event's:
// queries that declare their watermark before filtering by event type see
// their windows close at the end of the input, as the reference suite's
// bounded source closes them with its final watermark.
func WithNexmarkEndMarker() NexmarkSourceOption { return func(s *NexmarkSource) { s.marker = true } }

// NewNexmarkSource returns a source of events 0..events-1 of g.
func NewNexmarkSource(g *NexmarkGenerator, events int64, opts ...NexmarkSourceOption) (*NexmarkSource, error) {
	if g == nil {
		return nil, errors.New("benchsuite: nexmark source: the generator is nil; make one with NewNexmarkGenerator")
	}
	s := &NexmarkSource{gen: g, events: events, serve: [3]bool{true, true, true}, batch: 1_000_000, chunk: 1 << 16}
	for _, o := range opts {
		o(s)
	}
	switch {
	case events < 0:
		return nil, fmt.Errorf("benchsuite: nexmark source: %d events: give zero or more", events)
	case s.batch <= 0:
		return nil, fmt.Errorf("benchsuite: nexmark source: WithNexmarkBatchEvents(%d): give a positive number of events per batch", s.batch)
	case s.chunk <= 0:
		return nil, fmt.Errorf("benchsuite: nexmark source: WithNexmarkChunkEvents(%d): give a positive number of events per record", s.chunk)
	case s.serve == [3]bool{}:
		return nil, errors.New("benchsuite: nexmark source: WithNexmarkKinds serves no kind: give NexmarkPerson, NexmarkAuction or NexmarkBid")
	}
	s.schema = nexmarkSchema(s.serve)
	return s, nil
}

// Schema is NexmarkSchema of the served kinds.
func (s *NexmarkSource) Schema() *arrow.Schema { return s.schema }

// Events is the number of events the source generates.
func (s *NexmarkSource) Events() int64 { return s.events }

// DefaultReadLimit is the batch size in events.
func (s *NexmarkSource) DefaultReadLimit() source.ReadLimit { return source.MaxRows(s.batch) }

// PrepareForAvailableNow does nothing: the source's end is fixed.
func (s *NexmarkSource) PrepareForAvailableNow(context.Context) error { return nil }

// Description names the source in progress reports.
func (s *NexmarkSource) Description() string {
	kinds := ""
	for k, on := range s.serve {
		if on {
			if kinds != "" {
				kinds += ","
			}
			kinds += NexmarkKind(k).String()
		}
	}
	return fmt.Sprintf("NexmarkSource[events=%d, kinds=%s]", s.events, kinds)
}

// Close does nothing.
func (s *NexmarkSource) Close() error { return nil }

func (s *NexmarkSource) offset(off source.Offset) (int64, error) {
	n, err := source.ParseCounterOffset("benchsuite: nexmark source", "event", off)
	if err != nil {
		return 0, err
	}
	if n > s.events {
		return 0, fmt.Errorf("benchsuite: nexmark source: offset %s is beyond the source's %d events; the checkpoint belongs to a run with more events: use a new checkpoint", off, s.events)
	}
	return n, nil
}

// LatestOffset is up to limit events after start.
func (s *NexmarkSource) LatestOffset(ctx context.Context, start source.Offset, limit source.ReadLimit) (source.Offset, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	from, err := s.offset(start)
	if err != nil {
		return nil, err
	}
	if from == s.events {
		return start, nil
	}
	return source.CounterOffset("event", from+min(limit.Rows(), s.events-from)), nil
}

// Read generates the served events numbered start..end-1 (and the end
// marker when end is the last event and the source has one) into records
// of at most the chunk size, allocated with mem, in event order. The
// caller owns the records and releases each one.
func (s *NexmarkSource) Read(ctx context.Context, start, end source.Offset, mem memory.Allocator) ([]arrow.RecordBatch, error) {
	from, err := s.offset(start)
	if err != nil {
		return nil, err
	}
	to, err := s.offset(end)
	if err != nil {
		return nil, err
	}
	if to < from {
		return nil, fmt.Errorf("benchsuite: nexmark source: Read(%s, %s): the end is before the start", start, end)
	}
	nchunks := int((to - from + s.chunk - 1) / s.chunk)
	recs := make([]arrow.RecordBatch, nchunks)
	var wg sync.WaitGroup
	next := make(chan int)
	workers := min(runtime.GOMAXPROCS(0), nchunks)
	for range workers {
		wg.Go(func() {
			for c := range next {
				lo := from + int64(c)*s.chunk
				recs[c] = s.generate(mem, lo, min(lo+s.chunk, to))
			}
		})
	}
	for c := range nchunks {
		if ctx.Err() != nil {
			break
		}
		next <- c
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		for _, r := range recs {
			if r != nil {
				r.Release()
			}
		}
		return nil, err
	}
	return recs, nil
}

// generate builds the record of events lo..hi-1. The caller releases it.
func (s *NexmarkSource) generate(mem memory.Allocator, lo, hi int64) arrow.RecordBatch {
	marker := s.marker && hi == s.events
	extra := 0
	if marker {
		extra = 1
	}
	b := newNexmarkBuilder(s.gen, s.serve, s.schema, mem, lo, hi, extra)
	for n := lo; n < hi; n++ {
		b.appendEvent(n)
	}
	if marker {
		b.appendEndMarker(s.gen.TimeMs(s.events) + nexmarkEndMarkerAfter.Milliseconds())
	}
	return b.finish()
}
