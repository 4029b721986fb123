"""Historical reports: 15-minute interval figures, dispositions, satisfaction and topics."""
