package kafka

import (
	"math/big"
	"sort"
)

// span is the offsets [from, end) of one partition that a batch could
// read; order is its position in (topic, partition) order.
type span struct {
	tp       TopicPartition
	from     int64
	end      int64
	order    int
	assigned int64
}

// limitSpans caps the offsets of spans (all non-empty) at limit in total,
// setting each one's end to from plus its share:
//
//   - if the spans hold at most limit offsets, all of them are read;
//   - if limit is below the number of spans, the limit spans with the
//     largest backlog get one offset each (ties go to the earlier
//     partition), so that no partition is starved for long;
//   - otherwise every span gets one offset and the rest, limit minus the
//     number of spans, is split in proportion to each span's remaining
//     backlog by the largest-remainder method: shares are rounded down
//     and the offsets left over go one each to the largest remainders
//     (ties to the earlier partition).
//
// The shares always sum to exactly min(limit, total), no span gets more
// than its backlog, and the result depends only on the spans and limit.
func limitSpans(spans []span, limit int64) {
	total := new(big.Int)
	for i := range spans {
		total.Add(total, big.NewInt(spans[i].end-spans[i].from))
	}
	if total.Cmp(big.NewInt(limit)) <= 0 {
		for i := range spans {
			spans[i].assigned = spans[i].end - spans[i].from
		}
		return
	}
	k := int64(len(spans))
	if limit < k {
		idx := make([]int, len(spans))
		for i := range idx {
			idx[i] = i
		}
		sort.Slice(idx, func(a, b int) bool {
			sa, sb := spans[idx[a]], spans[idx[b]]
			da, db := sa.end-sa.from, sb.end-sb.from
			if da != db {
				return da > db
			}
			return sa.order < sb.order
		})
		for i := range spans {
			spans[i].assigned = 0
		}
		for _, i := range idx[:limit] {
			spans[i].assigned = 1
		}
		for i := range spans {
			spans[i].end = spans[i].from + spans[i].assigned
		}
		return
	}
	rest := big.NewInt(limit - k)
	weight := new(big.Int).Sub(total, big.NewInt(k)) // > rest, since total > limit
	rems := make([]*big.Int, len(spans))
	left := limit - k
	for i := range spans {
		w := big.NewInt(spans[i].end - spans[i].from - 1)
		q, r := new(big.Int).QuoRem(new(big.Int).Mul(rest, w), weight, new(big.Int))
		spans[i].assigned = 1 + q.Int64() // q <= w, so it fits
		rems[i] = r
		left -= q.Int64()
	}
	idx := make([]int, len(spans))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool {
		if c := rems[idx[a]].Cmp(rems[idx[b]]); c != 0 {
			return c > 0
		}
		return spans[idx[a]].order < spans[idx[b]].order
	})
	// left < k, and every span with a positive remainder has room for one
	// more: q < rest*w/weight <= w.
	for _, i := range idx[:left] {
		spans[i].assigned++
	}
	for i := range spans {
		spans[i].end = spans[i].from + spans[i].assigned
	}
}
