"""What a converted network costs and where it loses accuracy: operation and energy statistics
(:mod:`.stats`, :mod:`.energy`), the conversion error budget (:mod:`.budget`, :mod:`.isolated`) and
the self-contained HTML report (:mod:`.build`, :mod:`.html`), all from the CPU simulator's exact
integer traces (:mod:`.collect`)."""
