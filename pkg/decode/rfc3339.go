package decode

import "time"

// parseTime parses an RFC 3339 date-time as Go writes a time.Time or a
// metav1.Time in JSON ("2024-11-25T10:00:00Z", "2024-11-25T10:00:00.5+01:00")
// and returns it in milliseconds since the Unix epoch, any finer fraction
// truncated as time.Time.UnixMilli does. It is hand-written because it runs
// for every container and time.Parse wants a string: converting would
// allocate. Only the upper-case 'T' and 'Z' Go writes are accepted.
func parseTime(b []byte) (int64, bool) {
	// The shortest form is "2006-01-02T15:04:05Z".
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return 0, false
	}
	year, ok1 := twoDigits(b[0:2])
	year2, ok2 := twoDigits(b[2:4])
	month, ok3 := twoDigits(b[5:7])
	day, ok4 := twoDigits(b[8:10])
	hour, ok5 := twoDigits(b[11:13])
	minute, ok6 := twoDigits(b[14:16])
	sec, ok7 := twoDigits(b[17:19])
	year = year*100 + year2
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7) ||
		month < 1 || month > 12 || day < 1 || day > daysIn(month, year) ||
		hour > 23 || minute > 59 || sec > 59 {
		return 0, false
	}

	rest := b[19:]
	var ms int64
	if rest[0] == '.' {
		n := 1
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			if n <= 3 {
				ms = ms*10 + int64(rest[n]-'0')
			}
			n++
		}
		if n == 1 {
			return 0, false
		}
		for range 4 - min(n, 4) {
			ms *= 10
		}
		rest = rest[n:]
	}

	var offset int64 // seconds east of UTC
	switch {
	case len(rest) == 1 && rest[0] == 'Z':
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, okH := twoDigits(rest[1:3])
		om, okM := twoDigits(rest[4:6])
		if !okH || !okM || oh > 23 || om > 59 {
			return 0, false
		}
		offset = int64(oh*60+om) * 60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return 0, false
	}
	// time.Date with time.UTC neither allocates nor looks up a zone.
	secs := time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC).Unix() - offset
	return secs*1000 + ms, true
}

func twoDigits(b []byte) (int, bool) {
	if b[0] < '0' || b[0] > '9' || b[1] < '0' || b[1] > '9' {
		return 0, false
	}
	return int(b[0]-'0')*10 + int(b[1]-'0'), true
}

// daysIn returns the number of days in month of the proleptic Gregorian
// year.
func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
