-- Fragment {slot_keys}: the GROUP BY of {slot_columns}.
project, function, slot, service, provider, region, arch, memory_mb, function_version, is_cold
